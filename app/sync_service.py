"""The one write path for the web app: API requests and HTML forms both come here."""
from __future__ import annotations

from flask import current_app

from sync import EnvelopeError, apply_ops, parse_envelope, pull
from sync.engine import history as record_history
from sync.engine import thread as record_thread

from . import people, scope
from .extensions import db
from .models import Device, Unit, User, utcnow
from .sync_store import SqlStore


def sync_request(user: User, device: Device, body) -> dict:
    """Apply a phone's envelope and return results plus the changes it has not seen."""
    config = current_app.config
    envelope = parse_envelope(body, max_ops=config["SYNC_MAX_OPS"],
                              default_limit=config["SYNC_DEFAULT_LIMIT"], max_limit=config["SYNC_MAX_LIMIT"])
    if envelope.device not in (None, device.id):
        raise EnvelopeError("device_mismatch", "`device` is not the device this token was issued to.",
                            "device", status=403)
    actor = scope.actor(user, device.id)
    store = SqlStore()
    echoes: dict = {}
    try:
        results = apply_ops(store, actor, envelope.ops, echoes)
        # From cursor null (nothing seen yet) everything comes back, the device's own records too.
        seen_before = isinstance(body, dict) and body.get("cursor") is not None
        page = pull(store, actor, envelope.cursor, envelope.limit, echoes if seen_before else None)
        if envelope.wants_people and (changed := people.if_changed(user, envelope.people_version)):
            page["people"] = changed
        now = utcnow()
        device.last_sync_at = now
        if user.is_field:
            db.session.get(Unit, user.unit_id).last_sync_at = now
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return {"results": results, **page}


def submit(user: User, ops: list[dict]) -> list[dict]:
    """Apply ops made by a server-side form; same rules, same history, no device."""
    store = SqlStore()
    try:
        results = apply_ops(store, scope.actor(user), ops)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return results


def history(user: User, rtype: str, record_id: str) -> list[dict] | None:
    """A record's history as the user may see it, or None outside their scope."""
    return record_history(SqlStore(), scope.actor(user), rtype, record_id)


def thread(user: User, rtype: str, record_id: str) -> list[dict] | None:
    """The review comments and replies on a record, or None outside the user's scope."""
    return record_thread(SqlStore(), scope.actor(user), rtype, record_id)
