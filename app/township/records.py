"""What a township page or an export shows of a synced record: its fields with residents' personal data
masked, its open conflicts, its history. Templates and exports get these views, never the rows.

Masking follows the engine's one rule (`Actor.sees_personal_data_of`): only the village's own field
users see a resident's name and contact in full, so township users and admins always see them masked.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_login import current_user

from sync.engine import Actor
from sync.mask import mask_record
from sync.types import TYPES

FIELD_KINDS = {(rtype, f.name): f.kind for rtype, spec in TYPES.items() for f in spec.fields.values()}

from .. import labels, per_request, scope
from ..models import User
from ..dates import week_text
from ..names import person
from ..sync_store import record_fields
from .queries import to_local, usernames


def parse_time(value) -> dt.datetime | None:
    """An ISO time from the op log (client `at`, or `received_at` ending in Z) as Asia/Shanghai time."""
    if isinstance(value, dt.datetime):
        return to_local(value)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return to_local(parsed)


def local_text(value) -> str:
    local = parse_time(value)
    return local.strftime("%Y-%m-%d %H:%M") if local else ""


@dataclass
class Conflict:
    field: str
    label: str
    kept: str
    lost: str
    by: str
    at: str
    lost_from_this_op: bool


def conflict_views(rtype: str, conflicts: list, full: bool) -> list[Conflict]:
    """Conflicts (from a record or an op log entry) masked as the viewer must see them."""
    spec = TYPES[rtype]
    out = []
    for raw in conflicts or []:
        c = mask_record(spec, raw, full, conflict=True)
        name = c.get("field") or ""
        out.append(Conflict(field=name, label=labels.field_label(rtype, name),
                            kept=labels.value_label(rtype, name, c.get("kept")),
                            lost=labels.value_label(rtype, name, c.get("lost")),
                            by=c.get("by") or "", at=local_text(c.get("at")),
                            lost_from_this_op=c.get("lost_from") not in (None, "server")))
    return out


@dataclass(frozen=True)
class RecordView:
    """A synced record as a page or an export may show it: plain values only, never the row, so no
    template can reach a resident's unmasked name through it."""
    rtype: str
    id: str
    version: int
    deleted: bool
    unit_id: int
    village_name: str
    village_code: str
    created_by: int | None            # user ids, for who-may-do-what; the names are below
    updated_by: int | None
    author: str                       # the username of who recorded it
    editor: str                       # ... and of who changed it last
    created_at: dt.datetime           # as stored (naive UTC)
    updated_at: dt.datetime
    fields: dict                      # the synced fields, masked
    conflicts: list = field(default_factory=list)

    @property
    def created_text(self) -> str:
        return local_text(self.created_at)

    @property
    def updated_text(self) -> str:
        return local_text(self.updated_at)

    @property
    def title(self) -> str:
        f = self.fields
        if self.rtype in ("problem", "task"):
            return f.get("title") or ""
        if self.rtype == "meeting":
            return f.get("topic") or ""
        if self.rtype == "request":
            text = (f.get("content") or "").strip().splitlines()[0] if f.get("content") else ""
            return text if len(text) <= 40 else text[:40] + "…"
        return f.get("date") or ""

    @property
    def has_conflicts(self) -> bool:
        return bool(self.conflicts)

    def label(self, name: str) -> str:
        return labels.field_label(self.rtype, name)

    def text(self, name: str) -> str:
        value = self.fields.get(name)
        kind = FIELD_KINDS.get((self.rtype, name))
        if value and kind == "user":  # a username: the page shows the name
            return person(value)
        if value and kind == "week":
            return week_text(value)
        return labels.value_label(self.rtype, name, value)

    def status_text(self) -> str:
        return labels.status_label(self.rtype, self.fields.get("status"))


def actor_of(user: User) -> Actor:
    """The user's actor, built once per request: every view of a request masks by the same one."""
    cache = per_request.cache("view_actors")
    if user.id not in cache:
        cache[user.id] = scope.actor(user)
    return cache[user.id]


def request_actor() -> Actor:
    """The logged-in user's actor for this request."""
    return actor_of(current_user)


def _usernames(ids) -> dict[int, str]:
    """{user id: username}, read once per request for each id."""
    cache = per_request.cache("view_usernames")
    missing = {i for i in ids if i is not None and i not in cache}
    if missing:
        cache.update(usernames(missing))
    return cache


def _build(actor: Actor, rtype: str, row, names: dict[int, str]) -> RecordView:
    """The one place a synced row becomes what a template or an export sees, masked for `actor`."""
    spec = TYPES[rtype]
    full = actor.sees_personal_data_of(row.unit_id)
    unit = row.unit
    return RecordView(
        rtype=rtype, id=row.id, version=row.version, deleted=bool(row.deleted), unit_id=row.unit_id,
        village_name=unit.name if unit is not None else "", village_code=unit.code if unit is not None else "",
        created_by=row.created_by, updated_by=row.updated_by,
        author=names.get(row.created_by, ""), editor=names.get(row.updated_by, ""),
        created_at=row.created_at, updated_at=row.updated_at,
        fields=mask_record(spec, record_fields(row, spec.fields), full),
        conflicts=conflict_views(rtype, row.conflicts, full))


def view(actor: Actor, rtype: str, row) -> RecordView:
    return _build(actor, rtype, row, _usernames([row.created_by, row.updated_by]))


def views(actor: Actor, rtype: str, rows) -> list[RecordView]:
    rows = list(rows)
    names = _usernames({i for row in rows for i in (row.created_by, row.updated_by)})
    return [_build(actor, rtype, row, names) for row in rows]


@dataclass
class Change:
    field: str
    label: str
    value: str


@dataclass
class HistoryEntry:
    number: int
    user: str
    device: str | None
    at: str            # when it was made (the device's clock), Beijing time; '' for server forms
    received: str      # when the server took it, Beijing time
    status: str        # applied | merged
    changes: list[Change]
    conflicts: list[Conflict]
    photo: object | None = None   # a photo added to the record (township.photos.PhotoView): the entry says so
    removed: bool = False         # a photo of the record was taken back: the entry says so, and nothing of it


def history_views(actor: Actor, rtype: str, unit_id: int, entries: list[dict]) -> list[HistoryEntry]:
    """`sync_service.history` entries (already masked by the engine) as lines for people, oldest first.

    Conflict values are masked again here; masking is idempotent, so a second pass costs nothing and
    keeps this view safe even if it is ever handed raw entries.
    """
    full = actor.sees_personal_data_of(unit_id)
    spec = TYPES[rtype]
    out = []
    for number, entry in enumerate(entries, start=1):
        changes = mask_record(spec, entry.get("changes") or {}, full)
        order = list(spec.fields)
        names = sorted(changes, key=lambda n: order.index(n) if n in order else len(order))
        out.append(HistoryEntry(
            number=number, user=entry.get("user") or "", device=entry.get("device"),
            at=local_text(entry.get("at")), received=local_text(entry.get("received_at")),
            status=entry.get("status") or "",
            changes=[Change(n, labels.field_label(rtype, n), labels.value_label(rtype, n, changes[n]))
                     for n in names],
            conflicts=conflict_views(rtype, entry.get("conflicts"), full)))
    return out


def with_photos(history: list[HistoryEntry], photos: list, removed: list = ()) -> list[HistoryEntry]:
    """The history with an entry "photo added" for each of the record's photos and "photo removed" for each it
    had (township.photos.RemovedPhoto: who removed it, when), where they arrived among the changes (all in the
    server's time), numbered again from 1. A removed photo's own "added" entry is gone with it."""
    added = [HistoryEntry(number=0, user=p.author, device=None, at="", received=p.added_text, status="applied",
                          changes=[], conflicts=[], photo=p) for p in photos]
    added += [HistoryEntry(number=0, user=r.by, device=r.device, at=local_text(r.at),
                           received=local_text(r.received_at), status="applied",
                           changes=[Change("removed", _("Photo"), _("Photo removed"))], conflicts=[], removed=True)
              for r in removed]
    merged = sorted(history + added, key=lambda e: (e.received, e.photo is not None or e.removed))  # stable
    for number, entry in enumerate(merged, start=1):
        entry.number = number
    return merged
