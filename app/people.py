"""The people of a user's unit, for the phone's owner and assignee pickers, with a version so a sync sends them
only when they changed."""
from __future__ import annotations

import hashlib
import json

from sqlalchemy import select

from .extensions import db
from .models import User


def people_of(user: User) -> list[dict]:
    """The village's people (the pickers offer them: `village` true) and those above it whose words reach its
    records (township and county staff who comment and dispatch), each with the name the phone shows."""
    above = [int(unit_id) for unit_id in user.unit.path.strip("/").split("/")[:-1]]
    users = db.session.scalars(select(User).where(User.unit_id.in_([user.unit_id, *above]), User.active.is_(True))
                               .order_by(User.username))
    return [{"username": u.username, "role": u.role, "name": u.name, "village": u.unit_id == user.unit_id}
            for u in users]


def version_of(people: list[dict]) -> str:
    return hashlib.sha256(json.dumps(people, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:16]


def if_changed(user: User, known: str | None) -> dict | None:
    """`{"version", "list"}` unless the device already has this version."""
    people = people_of(user)
    version = version_of(people)
    return None if version == known else {"version": version, "list": people}
