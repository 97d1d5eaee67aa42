"""Bearer tokens of devices: random, shown once, stored only as a hash (see app/credentials.py)."""
from __future__ import annotations

from flask import request
from flask_login import current_user

from .. import credentials
from ..extensions import db
from ..models import Device, User
from .errors import ApiError

REFUSALS = {
    "invalid": ("invalid_token", "This token is not valid. Log in again."),
    "revoked": ("device_revoked", "This device was signed out by the township. Log in again; "
                                  "items waiting on the phone are kept."),
    "logged_out": ("device_revoked", "This device was logged out. Log in again; items waiting on the phone are kept."),
    "expired": ("token_expired", "This device has not synced for too long and was signed out. Log in again; "
                                 "items waiting on the phone are kept."),
    "inactive": ("user_inactive", "This account is disabled."),
}


def issue(user: User, name: str) -> tuple[Device, str]:
    device, token = credentials.new_device(user, name, with_token=True)
    db.session.commit()
    return device, token


def authenticate() -> tuple[User, Device]:
    """The user and device of the request's bearer token, or a JSON 401 whose code says why not."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "auth_required", "Send `Authorization: Bearer <device token>`.")
    device, state = credentials.device_of_token(token.strip())
    if state != "live":
        raise ApiError(401, *REFUSALS[state])
    credentials.touch(device)
    return device.user, device


def authenticate_any() -> tuple[User, Device]:
    """A bearer token, or the page session when no token is sent (the pages' own fetches)."""
    if request.headers.get("Authorization") or not current_user.is_authenticated:
        return authenticate()
    user = current_user._get_current_object()
    return user, user.device


def authenticate_user() -> User:
    return authenticate_any()[0]
