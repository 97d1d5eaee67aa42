"""Scoped queries for the township pages.

Every read of records goes through `app.scope` (scoped / villages / unit_ids_under):
nothing here looks a row up by id without the user's scope in the WHERE clause.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from .. import scope
from ..extensions import db
from ..models import (FIELD_ROLES, SYNCED_MODELS, Journal, Meeting, Problem, Request, Task, Unit, User,
                      utcnow)
from . import filters
from .filters import Filters

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


def journals_page(user: User, f: Filters | None = None, per_page: int = PER_PAGE):
    """One page of the live journals of the user's villages, newest first."""
    f = f or Filters()
    query = filters.apply(scope.scoped(Journal, user).where(Journal.deleted.is_(False)), "journal", f)
    query = (query.options(selectinload(Journal.unit))
             .order_by(Journal.date.desc(), Journal.updated_at.desc(), Journal.id.desc()))
    return db.paginate(query, page=f.page, per_page=per_page, error_out=False)


@dataclass
class VillageRow:
    unit: Unit
    township: Unit | None
    last_activity_local: dt.datetime | None   # the newest of the last sync and the village's newest write
    synced_local: dt.datetime | None          # when one of its phones last synced
    days_silent: int | None
    silent: bool
    journals_this_week: int
    open_problems: int = 0
    urgent_problems: int = 0
    overdue_tasks: int = 0
    old_requests: int = 0

    @property
    def never_synced(self) -> bool:
        """Nothing ever came from the village: no phone synced, nobody of it wrote a record."""
        return self.last_activity_local is None

    @property
    def needs_attention(self) -> bool:
        return self.silent or bool(self.urgent_problems or self.overdue_tasks or self.old_requests)


OPEN_PROBLEM = ("open", "in_progress")       # not yet resolved
WAITING_REQUEST = ("recorded", "accepted")   # the resident has no answer yet
REQUEST_WAIT = dt.timedelta(days=14)


def _grouped(user: User, model, *where) -> dict[int, int]:
    """{village id: number of live records matching `where`}, in one grouped query."""
    query = (scope.scoped(model, user).where(model.deleted.is_(False), *where)
             .with_only_columns(model.unit_id, func.count(model.id)).group_by(model.unit_id))
    return dict(db.session.execute(query).all())


def _village_writes(user: User) -> dict[int, dt.datetime]:
    """{village id: when one of its own people last wrote a record}, whichever path it came by (a phone's
    sync, the demo seeder, a server-side form): a village whose journal arrived is not silent. The township's
    own writes (its tasks, its comments) are not the village's activity; a field user writes only in their
    own village. Per village and type, the newest such row is found walking (unit_id, seq) back from the end."""
    village_ids = scope.village_ids(user)
    people = select(User.id).where(User.unit_id.in_(village_ids), User.role.in_(FIELD_ROLES))

    def newest(model):
        return (select(model.updated_at).where(model.unit_id == Unit.id, model.updated_by.in_(people))
                .order_by(model.seq.desc()).limit(1).correlate(Unit).scalar_subquery())

    query = select(Unit.id, *(newest(model) for model in SYNCED_MODELS.values())).where(Unit.id.in_(village_ids))
    return {unit_id: max(times) for unit_id, *found in db.session.execute(query)
            if (times := [t for t in found if t is not None])}


def village_overview(user: User, now: dt.datetime | None = None) -> tuple[list[VillageRow], dt.date, dt.date]:
    """Every village in scope with its last activity, this week's journals and what waits for attention:
    open and urgent problems, overdue tasks, requests unanswered for more than 14 days.

    One grouped query per figure. Sorted by what needs attention, never by a score: silent villages
    first (never synced, then the longest silence), then urgent problems, overdue tasks, old requests.
    """
    now = now or utcnow()
    today = local_today(now)
    monday, sunday = iso_week_bounds(today)
    journals = _grouped(user, Journal, Journal.date >= monday, Journal.date <= sunday)
    open_problems = _grouped(user, Problem, Problem.status.in_(OPEN_PROBLEM))
    urgent = _grouped(user, Problem, Problem.status.in_(OPEN_PROBLEM), Problem.urgent.is_(True))
    overdue = _grouped(user, Task, Task.on_village_list(), Task.due < today, Task.status != "done")
    old_requests = _grouped(user, Request, Request.status.in_(WAITING_REQUEST), Request.created_at < now - REQUEST_WAIT)
    written = _village_writes(user)
    rows = []
    for village in scope.villages(user):
        last = max((t for t in (village.last_sync_at, written.get(village.id)) if t is not None), default=None)
        elapsed = (now - last) if last is not None else None
        rows.append(VillageRow(
            unit=village,
            township=village.parent,
            last_activity_local=to_local(last),
            synced_local=to_local(village.last_sync_at),
            days_silent=max(elapsed.days, 0) if elapsed is not None else None,
            silent=elapsed is None or elapsed > SILENT_AFTER,
            journals_this_week=journals.get(village.id, 0),
            open_problems=open_problems.get(village.id, 0),
            urgent_problems=urgent.get(village.id, 0),
            overdue_tasks=overdue.get(village.id, 0),
            old_requests=old_requests.get(village.id, 0),
        ))
    rows.sort(key=lambda r: (not r.silent, -r.urgent_problems, -r.overdue_tasks, -r.old_requests,
                             not r.never_synced, r.last_activity_local.timestamp() if r.last_activity_local else 0,
                             r.unit.code))
    return rows, monday, sunday


# ---------------------------------------------------------------- problems, requests, meetings, tasks

def _live(model, user: User, rtype: str, f: Filters):
    query = filters.apply(scope.scoped(model, user).where(model.deleted.is_(False)), rtype, f)
    return query.options(selectinload(model.unit))


def _page(query, f: Filters, per_page: int):
    return db.paginate(query, page=f.page, per_page=per_page, error_out=False)


def problems_page(user: User, f: Filters | None = None, per_page: int = PER_PAGE):
    """Urgent (急难愁盼) first, then newest."""
    f = f or Filters()
    query = _live(Problem, user, "problem", f).order_by(
        case((Problem.urgent.is_(True), 0), else_=1), Problem.created_at.desc(), Problem.id.desc())
    return _page(query, f, per_page)


def requests_page(user: User, f: Filters | None = None, livelihood: bool = False, per_page: int = PER_PAGE):
    """Newest first."""
    f = f or Filters()
    query = _live(Request, user, "request", f)
    if livelihood:
        query = query.where(Request.livelihood_project.is_(True))
    return _page(query.order_by(Request.created_at.desc(), Request.id.desc()), f, per_page)


def meetings_page(user: User, f: Filters | None = None, per_page: int = PER_PAGE):
    """Latest meeting first."""
    f = f or Filters()
    query = _live(Meeting, user, "meeting", f).order_by(Meeting.date.desc(), Meeting.created_at.desc(),
                                                        Meeting.id.desc())
    return _page(query, f, per_page)


def tasks_page(user: User, f: Filters | None = None, per_page: int = PER_PAGE):
    """Open tasks first, the nearest due date first (none last), then newest."""
    f = f or Filters()
    query = _live(Task, user, "task", f).order_by(
        case((Task.status == "done", 1), else_=0), case((Task.due.is_(None), 1), else_=0),
        Task.due, Task.created_at.desc(), Task.id.desc())
    return _page(query, f, per_page)


def categories(user: User, rtype: str, limit: int = 200) -> list[str]:
    """The categories the villages in scope have used for `rtype`, for the filter's choices."""
    model = SYNCED_MODELS[rtype]
    query = (scope.scoped(model, user).where(model.deleted.is_(False), model.category.is_not(None),
                                             model.category != "")
             .with_only_columns(model.category).distinct().order_by(model.category).limit(limit))
    return list(db.session.scalars(query))


RECORD_PAGE_TYPES = ("journal", "problem", "meeting", "request", "task")


def record(user: User, rtype: str, record_id: str):
    """One synced record of the user's villages (tombstones too), or None: out of scope looks like absent."""
    model = SYNCED_MODELS.get(rtype) if rtype in RECORD_PAGE_TYPES else None
    if model is None or not isinstance(record_id, str) or len(record_id) > 64 or "\x00" in record_id:
        return None
    return db.session.scalar(scope.scoped(model, user).where(model.id == record_id)
                             .options(selectinload(model.unit)))


def records_in_scope(user: User, rtype: str, ids) -> dict:
    """{id: row} for those of `ids` that are live records of the user's villages."""
    model = SYNCED_MODELS[rtype]
    ids = {i for i in ids if i}
    if not ids:
        return {}
    rows = db.session.scalars(scope.scoped(model, user).where(model.id.in_(ids), model.deleted.is_(False)))
    return {row.id: row for row in rows}


def requests_of(user: User, column: str, value: str) -> list[Request]:
    """The live requests of the user's villages whose `column` (meeting_id or problem_id) is `value`."""
    query = (scope.scoped(Request, user)
             .where(getattr(Request, column) == value, Request.deleted.is_(False))
             .order_by(Request.created_at, Request.id))
    return list(db.session.scalars(query))


def request_counts(user: User, meeting_ids) -> dict[str, int]:
    ids = list({i for i in meeting_ids if i})
    if not ids:
        return {}
    query = (scope.scoped(Request, user)
             .where(Request.meeting_id.in_(ids), Request.deleted.is_(False))
             .with_only_columns(Request.meeting_id, func.count(Request.id)).group_by(Request.meeting_id))
    return dict(db.session.execute(query).all())


def usernames(ids) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())


@dataclass(frozen=True)
class Person:
    """A village's field user as a form offers them (who a task may be assigned to), without the account."""
    username: str
    role: str
    unit_id: int
    village_name: str
    village_code: str


def village_people(user: User) -> list[Person]:
    """The active field users (secretaries, cadres) of the user's villages: who a task may be assigned to."""
    query = (select(User.username, User.role, User.unit_id, Unit.name, Unit.code).join(Unit, Unit.id == User.unit_id)
             .where(User.unit_id.in_(scope.village_ids(user)), User.role.in_(FIELD_ROLES), User.active.is_(True))
             .order_by(Unit.code, User.username))
    return [Person(*found) for found in db.session.execute(query)]
