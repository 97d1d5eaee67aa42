"""Device tokens: random, shown once, stored only as a hash."""
from __future__ import annotations

import hashlib
import secrets
import uuid

from flask import request
from sqlalchemy import select

from ..extensions import db
from ..models import Device, User
from .errors import ApiError


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(user: User, name: str) -> tuple[Device, str]:
    token = secrets.token_urlsafe(32)
    device = Device(id=str(uuid.uuid4()), user_id=user.id, name=name[:200] or "?", token_hash=hash_token(token))
    db.session.add(device)
    db.session.commit()
    return device, token


def authenticate() -> tuple[User, Device]:
    """The user and device of the request's bearer token, or a JSON 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "auth_required", "Send `Authorization: Bearer <device token>`.")
    device = db.session.scalar(select(Device).where(Device.token_hash == hash_token(token.strip())))
    if device is None:
        raise ApiError(401, "invalid_token", "This token is not valid. Log in again.")
    if device.revoked_at is not None:
        raise ApiError(401, "device_revoked", "This device was signed out by the township. Log in again; "
                                              "items waiting on the phone are kept.")
    if not device.user.active:
        raise ApiError(401, "user_inactive", "This account is disabled.")
    return device.user, device


def authenticate_user() -> User:
    """The user of a bearer token, or of the page session when no token is sent (for pages' own fetches)."""
    from flask_login import current_user
    if request.headers.get("Authorization") or not current_user.is_authenticated:
        return authenticate()[0]
    return current_user._get_current_object()
