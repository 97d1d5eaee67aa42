"""One credential per device: the page session and the bearer token both hang on a `Device` row.

A login makes a device (or reuses the live one it names). The page session carries `<device id>:<secret>`, the
bearer token is another secret; only their hashes are stored. Revoking a device, logging out on it, or leaving it
unused too long ends both at once — the remember-me cookie too, since it carries the same session id and every
request checks it against the device.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db
from .models import Device, User, utcnow

TOUCH_EVERY = dt.timedelta(minutes=5)  # how stale `last_used_at` may get: idle limits are days and hours
_dummy_hashes: dict[str, str] = {}


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def user_for_password(username: str, password: str) -> User | None:
    """The active user with this username and password, in the same time whether or not the username exists."""
    user = None if "\x00" in username else db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        check_password_hash(_dummy_hash(), password)  # as slow as a real check: usernames cannot be found by timing
        return None
    return user if user.check_password(password) else None


def _dummy_hash() -> str:
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash(secrets.token_hex(16), method=method)
    return _dummy_hashes[method]


def new_device(user: User, name: str, with_token: bool) -> tuple[Device, str | None]:
    """A device for a new login; its bearer token (shown once) when `with_token`."""
    token = secrets.token_urlsafe(32) if with_token else None
    device = Device(id=str(uuid.uuid4()), user_id=user.id, name=clean_name(name),
                    token_hash=hash_secret(token) if token else None, last_used_at=utcnow())
    db.session.add(device)
    return device, token


def clean_name(name: str) -> str:
    return "".join(ch for ch in name if ch.isprintable())[:200] or "?"


def live_device_of(user: User, device_id: str | None) -> Device | None:
    """The device a login names, when it is this user's and still live (the phone logging in again)."""
    if not device_id or len(device_id) > 36:
        return None
    device = db.session.get(Device, device_id)
    if device is None or device.user_id != user.id or state(device) != "live":
        return None
    return device


def open_session(device: Device) -> str:
    """A fresh page-session id for the device; sessions opened before on it end (one browser, one session)."""
    secret = secrets.token_urlsafe(24)
    device.session_hash = hash_secret(secret)
    device.last_used_at = utcnow()
    return f"{device.id}:{secret}"


def device_of_session(session_id: str) -> tuple[Device | None, str]:
    """The device a page session (or remember cookie) belongs to and its state; (None, 'invalid') if none."""
    device_id, _, secret = (session_id or "").partition(":")
    device = db.session.get(Device, device_id) if secret and len(device_id) == 36 else None
    if device is None or not device.session_hash or not hmac.compare_digest(device.session_hash, hash_secret(secret)):
        return None, "invalid"
    return device, state(device)


def device_of_token(token: str) -> tuple[Device | None, str]:
    device = db.session.scalar(select(Device).where(Device.token_hash == hash_secret(token)))
    return (device, state(device)) if device is not None else (None, "invalid")


def idle_limit(device: Device) -> dt.timedelta:
    """Phones and API clients (with a token) sync weekly at best, so a month; a web login lasts a working day."""
    config = current_app.config
    if device.token_hash:
        return dt.timedelta(days=config["TOKEN_IDLE_DAYS"])
    return dt.timedelta(hours=config["SESSION_IDLE_HOURS"])


def state(device: Device, now: dt.datetime | None = None) -> str:
    """live | revoked (by the township) | logged_out | expired (unused longer than its idle limit) | inactive."""
    if device.revoked_at is not None:
        return "logged_out" if device.revoked_by == device.user_id else "revoked"
    if not device.user.active:
        return "inactive"
    last = device.last_used_at or device.created_at
    return "expired" if (now or utcnow()) - last > idle_limit(device) else "live"


def touch(device: Device) -> None:
    """Renew the device's idle clock, in its own short transaction, at most every few minutes."""
    now = utcnow()
    if device.last_used_at and now - device.last_used_at < TOUCH_EVERY:
        return
    with db.engine.begin() as connection:
        connection.execute(update(Device).where(Device.id == device.id).values(last_used_at=now))
    set_committed_value(device, "last_used_at", now)  # already stored: the request's session has nothing to write


def end(device: Device, by: User) -> None:
    """Revoke (township) or log out (its own user): the token, the session and remember-me end together."""
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        device.revoked_by = by.id
    db.session.commit()
