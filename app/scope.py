"""Scope: which units a user may see. Every query of records goes through here."""
from __future__ import annotations

from sqlalchemy import select

from sync import Actor

from .extensions import db
from .models import Unit, User


def subtree(unit: Unit):
    """A select of the units at or below `unit`."""
    return select(Unit).where(Unit.path.startswith(unit.path))


def unit_ids_under(unit: Unit):
    """A select of the ids of the units at or below `unit`."""
    return select(Unit.id).where(Unit.path.startswith(unit.path))


def village_ids(user: User) -> frozenset[int]:
    rows = db.session.scalars(subtree(user.unit).where(Unit.level == "village").with_only_columns(Unit.id))
    return frozenset(rows)


def villages(user: User) -> list[Unit]:
    return list(db.session.scalars(subtree(user.unit).where(Unit.level == "village").order_by(Unit.code)))


def scoped(model, user: User):
    """A select of `model` rows whose village is in the user's scope."""
    return select(model).where(model.unit_id.in_(village_ids(user)))


def actor(user: User, device_id: str | None = None) -> Actor:
    return Actor(user_id=user.id, role=user.role, home_unit_id=user.unit_id,
                 village_ids=village_ids(user), device_id=device_id, username=user.username)
