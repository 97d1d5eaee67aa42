"""Scoped queries for the township pages.

Every read of records goes through `app.scope` (scoped / villages / unit_ids_under):
nothing here looks a row up by id without the user's scope in the WHERE clause.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from .. import scope
from ..extensions import db
from ..models import Device, Journal, Unit, User, utcnow

SHANGHAI = ZoneInfo("Asia/Shanghai")
PER_PAGE = 50
SILENT_AFTER = dt.timedelta(days=7)


def to_local(value: dt.datetime | None) -> dt.datetime | None:
    """A stored (naive UTC) time as an aware Asia/Shanghai time."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(SHANGHAI)


def local_today(now: dt.datetime | None = None) -> dt.date:
    return to_local(now or utcnow()).date()


def iso_week_bounds(today: dt.date) -> tuple[dt.date, dt.date]:
    """Monday and Sunday of the ISO week containing `today`."""
    monday = today - dt.timedelta(days=today.weekday())
    return monday, monday + dt.timedelta(days=6)


def journals_page(user: User, village: Unit | None = None, page: int = 1, per_page: int = PER_PAGE):
    """One page of the live journals of the user's villages, newest first."""
    query = scope.scoped(Journal, user).where(Journal.deleted.is_(False))
    if village is not None:
        query = query.where(Journal.unit_id == village.id)
    query = (query.options(selectinload(Journal.unit), selectinload(Journal.author))
             .order_by(Journal.date.desc(), Journal.updated_at.desc(), Journal.id.desc()))
    return db.paginate(query, page=max(page, 1), per_page=per_page, error_out=False)


@dataclass
class VillageRow:
    unit: Unit
    township: Unit | None
    last_sync_local: dt.datetime | None
    days_silent: int | None
    silent: bool
    journals_this_week: int

    @property
    def never_synced(self) -> bool:
        return self.last_sync_local is None


def village_overview(user: User, now: dt.datetime | None = None) -> tuple[list[VillageRow], dt.date, dt.date]:
    """Every village in scope with its last sync and this week's journals, silent longest first."""
    now = now or utcnow()
    monday, sunday = iso_week_bounds(local_today(now))
    counts = dict(db.session.execute(
        scope.scoped(Journal, user)
        .where(Journal.deleted.is_(False), Journal.date >= monday, Journal.date <= sunday)
        .with_only_columns(Journal.unit_id, func.count(Journal.id))
        .group_by(Journal.unit_id)).all())
    rows = []
    for village in scope.villages(user):
        last = village.last_sync_at
        elapsed = (now - last) if last is not None else None
        rows.append(VillageRow(
            unit=village,
            township=village.parent,
            last_sync_local=to_local(last),
            days_silent=max(elapsed.days, 0) if elapsed is not None else None,
            silent=elapsed is None or elapsed > SILENT_AFTER,
            journals_this_week=counts.get(village.id, 0),
        ))
    # What needs attention first: never synced, then the longest silence; ties by code.
    rows.sort(key=lambda r: (r.unit.last_sync_at is not None, r.unit.last_sync_at or dt.datetime.min, r.unit.code))
    return rows, monday, sunday


def devices(user: User) -> list[Device]:
    """Devices of the users whose unit is in the user's subtree: active first, then by place and person."""
    query = (select(Device).join(User, User.id == Device.user_id)
             .where(User.unit_id.in_(scope.unit_ids_under(user.unit)))
             .options(selectinload(Device.user).selectinload(User.unit))
             .order_by(Device.revoked_at.is_not(None), User.username, Device.created_at.desc()))
    return list(db.session.scalars(query))
