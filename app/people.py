"""The people of a user's unit, for the phone's owner and assignee pickers, with a version so a sync sends them
only when they changed."""
from __future__ import annotations

import hashlib
import json

from sqlalchemy import select

from .extensions import db
from .models import User


def people_of(user: User) -> list[dict]:
    users = db.session.scalars(select(User).where(User.unit_id == user.unit_id, User.active.is_(True))
                               .order_by(User.username))
    return [{"username": u.username, "role": u.role} for u in users]


def version_of(people: list[dict]) -> str:
    return hashlib.sha256(json.dumps(people, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:16]


def if_changed(user: User, known: str | None) -> dict | None:
    """`{"version", "list"}` unless the device already has this version."""
    people = people_of(user)
    version = version_of(people)
    return None if version == known else {"version": version, "list": people}
