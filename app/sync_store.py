"""The engine's Store on SQLAlchemy: records, the op log and the counties' change counters."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from sync.engine import Actor, Logged
from sync.digest import printable, rejected_payload
from sync.gate import title_key as key_of
from sync.envelope import MAX_INT, is_uuid
from sync.merge import Current, Merge
from sync.rows import ChangeRow, HistoryRow, ReviewRow
from sync.types import TYPES

from .extensions import db
from .models import MILESTONES, SYNCED_MODELS, Device, OpLog, Review, SyncCounter, Task, Unit, User, WorkItem, utcnow


def _to_wire(value):
    return value.isoformat() if isinstance(value, dt.date) else value


def _from_wire(model, name, value):
    if value is not None and isinstance(getattr(model, name).type, db.Date):
        return dt.date.fromisoformat(value)
    return value


def _reached_at(rtype, row):
    """When the record reached its milestone (resolved, answered, done), for the phone's week view."""
    return getattr(row, MILESTONES[rtype][1]) if rtype in MILESTONES else None


def record_fields(row, fields) -> dict:
    return {name: _to_wire(getattr(row, name)) for name in fields}


def _village_sees(model) -> list:
    """What a village user's pull leaves out: township tasks not yet approved, and comments on them."""
    if model is Task:
        return [Task.reaches_village()]
    if model is Review:
        hidden = exists().where(Task.id == Review.target_id, ~Task.reaches_village())
        return [or_(Review.target_type != "task", ~hidden)]
    return []


def county_of(path: str) -> int:
    """A unit's county: the first id of its path ("/county/township/village/")."""
    return int(path.strip("/").split("/")[0])


class SqlStore:
    """One request's view of the database; `begin_writes` must come before any op is applied."""

    def __init__(self, session=None):
        self.session = session or db.session
        self._seqs: dict[int, int] = {}        # county → the last number handed out in this transaction
        self._committed: dict[int, int] = {}   # county → its counter as this transaction found it
        self._county_of: dict[int, int] = {}   # village → county
        self._known_ops: set[str] = set()
        self._logged: dict[str, Logged] = {}
        self._records: dict[tuple[str, str], object] = {}
        self._units: dict[str, int | None] = {}
        self._received = utcnow()
        self._prefetched = False

    def begin_writes(self, ops: list[dict], actor: Actor) -> None:
        """Take the counter rows of the actor's counties first, so writers of a county queue rather than
        deadlock and read its records only once the previous writer has committed; then fetch the request's
        known op ids and records in one query each."""
        self._seqs = self._lock_counters(sorted(self.counties(actor.village_ids)))
        self._committed = dict(self._seqs)
        self._prefetched = True
        self._known_ops = set(self.session.scalars(select(OpLog.op_id).where(OpLog.op_id.in_([o["op"] for o in ops]))))
        wanted: dict[str, set] = {rtype: set() for rtype in SYNCED_MODELS}
        def want(rtype, record_id):
            if isinstance(rtype, str) and rtype in wanted and is_uuid(record_id):  # no NUL reaches PostgreSQL
                wanted[rtype].add(record_id.lower())

        for op in ops:
            want(op.get("type"), op.get("id"))
            about = TYPES[op["type"]].about if isinstance(op.get("type"), str) and op["type"] in TYPES else None
            if about and isinstance(op.get("set"), dict):  # a review: its target too
                want(op["set"].get(about[0]), op["set"].get(about[1]))
        for rtype, ids in wanted.items():
            model = SYNCED_MODELS[rtype]
            for row in self.session.scalars(select(model).where(model.id.in_(ids))) if ids else ():
                self._records[(rtype, row.id)] = row

    def _lock_counters(self, counties: list[int]) -> dict[int, int]:
        """Lock the counties' counter rows, in the order of their ids (two writers of several counties never
        hold one each and wait for the other), making a county's row on its first write."""
        if not counties:
            return {}
        mine = SyncCounter.county_id.in_(counties)
        locked = select(SyncCounter.county_id, SyncCounter.value).where(mine).order_by(SyncCounter.county_id)
        dialect = self.session.get_bind().dialect.name
        if dialect == "sqlite":  # no row locks: the first write takes the database's write lock
            self.session.execute(update(SyncCounter).where(mine).values(value=SyncCounter.value))
        else:
            locked = locked.with_for_update()
        values = dict(self.session.execute(locked).all())
        missing = [county for county in counties if county not in values]
        if missing:
            insert = (sqlite if dialect == "sqlite" else postgresql).insert(SyncCounter)
            self.session.execute(insert.values([{"county_id": county, "value": 0} for county in missing])
                                 .on_conflict_do_nothing(index_elements=["county_id"]))
            values = dict(self.session.execute(locked).all())
        return values

    def counties(self, village_ids):
        """The villages grouped by their county."""
        unknown = [v for v in village_ids if v not in self._county_of]
        if unknown:
            for unit_id, path in self.session.execute(select(Unit.id, Unit.path).where(Unit.id.in_(unknown))):
                self._county_of[unit_id] = county_of(path)
        grouped: dict[int, set[int]] = {}
        for village in village_ids:
            grouped.setdefault(self._county_of[village], set()).add(village)
        return {county: frozenset(villages) for county, villages in grouped.items()}

    def end_writes(self) -> None:
        for county, value in self._seqs.items():
            if value != self._committed[county]:
                self.session.execute(update(SyncCounter).where(SyncCounter.county_id == county).values(value=value))
        self.session.flush()

    def find_op(self, op_id):
        if op_id in self._logged:
            return self._logged[op_id]
        if op_id not in self._known_ops:
            return None
        entry = self.session.get(OpLog, op_id)
        error = {"code": entry.error_code, "message": entry.error_message} if entry.error_code else None
        return Logged(entry.status, entry.version, error)

    def load(self, rtype, record_id):
        row = self._records.get((rtype, record_id))
        if row is None and not self._prefetched:
            row = self.session.get(SYNCED_MODELS[rtype], record_id)
        if row is None:
            return None
        return Current(row.version, record_fields(row, TYPES[rtype].fields), dict(row.field_versions or {}),
                       row.unit_id, row.deleted, list(row.conflicts or []), row.created_by)

    def unit_id_for_code(self, code):
        if code not in self._units:
            self._units[code] = self.session.scalar(select(Unit.id).where(Unit.code == code, Unit.level == "village"))
        return self._units[code]

    def user_in_unit(self, username, unit_id):
        return self.session.scalar(select(User.id).where(User.username == username, User.unit_id == unit_id,
                                                         User.active.is_(True))) is not None

    def write(self, rtype, record_id, unit_id, result: Merge, actor: Actor, created: bool):
        model = SYNCED_MODELS[rtype]
        now = utcnow()
        if created:
            row = self._records[(rtype, record_id)] = model(id=record_id, unit_id=unit_id,
                                                            created_by=actor.user_id, created_at=now)
            self.session.add(row)
        else:
            row = self._records[(rtype, record_id)]
        # A township task reaching its village now: its thread, hidden from the village until now, must
        # come with it in the next pull of a phone whose cursor is already past the comments.
        reaching = rtype == "task" and not created and row.sent_on is None and bool(result.fields.get("sent_on"))
        for name, value in result.fields.items():
            setattr(row, name, _from_wire(model, name, value))
        if rtype in MILESTONES:
            states, column = MILESTONES[rtype]
            reached = result.fields.get("status") in states
            setattr(row, column, (getattr(row, column) or now) if reached else None)
        row.version = result.version
        row.field_versions = dict(result.field_versions)
        row.conflicts = list(result.open_conflicts)
        row.updated_by = actor.user_id
        row.updated_at = now
        county = row.county_id = self._county_of[unit_id]
        row.seq = self._next_seq(county)
        if reaching:
            for review in self.session.scalars(select(Review).where(Review.target_type == "task",
                                                                    Review.target_id == record_id)
                                               .order_by(Review.seq)):
                review.seq = self._next_seq(county)

    def _next_seq(self, county: int) -> int:
        self._seqs[county] += 1
        return self._seqs[county]

    def log(self, op, actor, unit_id, result, conflicts):
        raw = op if isinstance(op, dict) else {"op": op.op, "type": op.type, "id": op.id,
                                                "base": op.base, "set": op.set, "at": op.at, "ack": op.ack}
        error = result.get("error") or {}
        base = raw.get("base")
        # Strictly increasing within the request, so the history keeps the ops' order.
        self._received = max(utcnow(), self._received + dt.timedelta(microseconds=1))
        # A rejected op is raw client input: every column gets it bounded, a large payload only as a digest.
        self.session.add(OpLog(
            received_at=self._received,
            op_id=raw["op"], type=printable(raw.get("type"), 32), record_id=printable(raw.get("id"), 64),
            unit_id=unit_id, user_id=actor.user_id, device_id=actor.device_id,
            base=base if type(base) is int and 0 <= base <= MAX_INT else None,
            changes=rejected_payload(raw.get("set", {})) if result["status"] == "rejected" else raw["set"],
            client_at=printable(raw["at"], 40) if raw.get("at") else None,
            status=result["status"], version=result.get("version"),
            error_code=error.get("code"), error_message=printable(error["message"], 500) if error else None,
            conflicts=conflicts or None,
            ack=raw.get("ack") is True,
        ))
        self._logged[raw["op"]] = Logged(result["status"], result.get("version"), result.get("error"))

    def current_seq(self, county=None):
        """The county's last committed number (with no county: the highest of any county's)."""
        if county is None:
            return self.session.scalar(select(func.max(SyncCounter.value))) or 0
        return self.session.scalar(select(SyncCounter.value).where(SyncCounter.county_id == county)) or 0

    def work_item(self, unit_id, code):
        village = self.session.get(Unit, unit_id)
        county_id = int(village.path.strip("/").split("/")[0])
        item = self.session.scalar(select(WorkItem).where(WorkItem.county_id == county_id, WorkItem.code == code))
        if item is None:
            return None
        return {"code": item.code, "name": item.name, "basis": item.basis, "department": item.department,
                "effort_hours": item.effort_hours, "status": item.status}

    def duplicate_task(self, unit_id, task_id, item_code, title_key, window_days):
        """The earliest live township task of the village with the same item (off-list: the same title)
        that is not done, or was done within the window."""
        since = utcnow() - dt.timedelta(days=window_days)
        query = (select(Task.id, Task.title).where(
            Task.unit_id == unit_id, Task.id != task_id, Task.origin == "township", Task.deleted.is_(False),
            or_(Task.gate.is_(None), Task.gate.not_in(("rejected", "withdrawn"))),
            or_(Task.status != "done", Task.done_at >= since),
            Task.item_code == item_code if item_code else Task.item_code.is_(None))
            .order_by(Task.created_at, Task.id))
        mine = self._records.get(("task", task_id))
        if mine is None and not self._prefetched:
            mine = self.session.get(Task, task_id)
        if mine is not None and mine.created_at is not None:  # only what the village had before this one
            query = query.where(Task.created_at < mine.created_at)
        for found, title in self.session.execute(query):
            if item_code or key_of(title) == title_key:
                return found
        return None

    def changes(self, county, village_ids, after, upto, limit, village_view=False):
        rows = []
        for rtype, model in SYNCED_MODELS.items():
            query = (select(model, Unit.code, User.username)
                     .join(Unit, Unit.id == model.unit_id).join(User, User.id == model.created_by)
                     .where(model.county_id == county, model.unit_id.in_(village_ids),
                            model.seq > after, model.seq <= upto)
                     .order_by(model.seq).limit(limit))
            if village_view:
                query = query.where(*_village_sees(model))
            rows += [ChangeRow(seq=row.seq, type=rtype, id=row.id, unit_id=row.unit_id, unit=unit_code,
                               version=row.version, deleted=row.deleted, author=author,
                               created_at=row.created_at, updated_at=row.updated_at,
                               fields=record_fields(row, TYPES[rtype].fields), conflicts=list(row.conflicts or []),
                               reached_at=_reached_at(rtype, row))
                     for row, unit_code, author in self.session.execute(query)]
        rows.sort(key=lambda r: r.seq)
        return rows[:limit]

    def history(self, rtype, record_id):
        query = (select(OpLog, User.username, Device.name).join(User, User.id == OpLog.user_id)
                 .outerjoin(Device, Device.id == OpLog.device_id)
                 .where(OpLog.type == rtype, OpLog.record_id == record_id, OpLog.status != "rejected")
                 .order_by(OpLog.received_at, OpLog.op_id))
        return [HistoryRow(op=entry.op_id, user=username, device=device, at=entry.client_at,
                           received_at=entry.received_at, status=entry.status, changes=entry.changes or {},
                           conflicts=entry.conflicts or [], ack=entry.ack, error=entry.error_code)
                for entry, username, device in self.session.execute(query)]

    def reviews_of(self, rtype, record_id, unit_id):
        query = (select(Review, User.username).join(User, User.id == Review.created_by)
                 .where(Review.target_type == rtype, Review.target_id == record_id, Review.unit_id == unit_id,
                        Review.deleted.is_(False))
                 .order_by(Review.created_at, Review.seq))
        return [ReviewRow(id=row.id, author=author, created_at=row.created_at,
                          fields=record_fields(row, TYPES["review"].fields))
                for row, author in self.session.execute(query)]
