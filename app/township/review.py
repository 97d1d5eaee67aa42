"""The review queue (审阅), review marks and the comment thread of a record.

A record waits in a reviewer's queue when
  * it changed since the reviewer last looked: no ReviewMark (user, type, id) with a version ≥ the
    record's version — unless the reviewer made that last change themself (they have seen it); or
  * someone else commented on it or replied to a comment after the reviewer last looked
    (after their mark, or after their own last change when they never marked it), so a village's
    answer to a 需跟进 comment does not go unseen.

The queue is one UNION ALL of a select per type, each an outer join against review_marks on its
primary key plus an EXISTS on reviews(target_id). Each row carries its `priority`: what needs an answer
(ATTENTION, in that order) comes first, oldest change first; then the other changes by village, newest
first; plain journals are not listed one by one but summed up per village (review_digest.py).
Marks are server-only rows (not synced records), written here directly with an upsert; "mark all" is one
INSERT … SELECT over the same union.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask import g
from flask_babel import gettext as _
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import DateTime, Integer, String, Text, and_, case, cast, exists, func, literal, or_, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import selectinload

from sync.types import TYPES

from .. import labels, scope
from ..extensions import db
from ..models import FIELD_ROLES, SYNCED_MODELS, Review, ReviewMark, Unit, User, utcnow
from . import filters, photos, records
from .filters import Filters
from .listing import ViewPagination
from .queries import OPEN_PROBLEM, PER_PAGE, REQUEST_WAIT, WAITING_REQUEST, to_local

QUEUE_TYPES = ("journal", "problem", "meeting", "request", "task")
SUMMARY_LENGTH = 160

# What needs an answer, most urgent first (the row's `priority` is its place here, 1-based); the rest is PLAIN.
#   urgent  — an open (open / in progress) problem the village marked urgent;
#   flag    — a task the village flagged (duplicate, off the list, unclear, a burden: its word upward through
#             the dispatch gate), or any record with open conflicts (both sides changed the same field);
#   reply   — a village user commented or replied on the record since the reviewer last looked;
#   waiting — a request the resident has had no answer to for more than REQUEST_LEFT_WAITING.
ATTENTION = ("urgent", "flag", "reply", "waiting")
PLAIN = len(ATTENTION) + 1
# The village overview's threshold, so the queue and the overview agree on which requests are "old": two
# weeks, long enough for a village to accept and answer, short enough that a resident is not forgotten.
REQUEST_LEFT_WAITING = REQUEST_WAIT


def _has_conflicts(model):
    """Open conflicts: the JSON list is stored as text, "[]" when there are none."""
    return func.coalesce(cast(model.conflicts, Text), "[]").not_in(["[]", "null"])


def _priority(user: User, model, rtype: str, since, now: dt.datetime):
    """The row's place in ATTENTION (1 = urgent …), PLAIN when nothing about it needs an answer."""
    village_reply = exists().where(
        Review.target_type == rtype, Review.target_id == model.id, Review.deleted.is_(False),
        Review.created_by != user.id, Review.created_at > since,
        Review.created_by.in_(select(User.id).where(User.role.in_(FIELD_ROLES))))
    flagged = _has_conflicts(model)
    whens = []
    if rtype == "problem":
        whens.append((and_(model.urgent.is_(True), model.status.in_(OPEN_PROBLEM)), 1))
    if rtype == "task":
        flagged = or_(model.flag.is_not(None), flagged)
    whens += [(flagged, 2), (village_reply, 3)]
    if rtype == "request":
        whens.append((and_(model.status.in_(WAITING_REQUEST), model.created_at < now - REQUEST_LEFT_WAITING), 4))
    return case(*whens, else_=PLAIN)


def _pending_select(user: User, village_ids, rtype: str, f: Filters | None, now: dt.datetime | None,
                    extra: tuple[str, ...] = ()):
    model = SYNCED_MODELS[rtype]
    mark = ReviewMark
    joined = and_(mark.user_id == user.id, mark.type == rtype, mark.record_id == model.id)
    # After what time a comment by someone else brings the record back.
    since = func.coalesce(mark.marked_at, case((model.updated_by == user.id, model.updated_at), else_=None))
    new_comment = exists().where(Review.target_type == rtype, Review.target_id == model.id,
                                 Review.deleted.is_(False), Review.created_by != user.id,
                                 Review.created_at > since)
    changed = and_(model.updated_by != user.id, or_(mark.record_id.is_(None), mark.version < model.version))
    priority = _priority(user, model, rtype, since, now) if now else literal(PLAIN)
    query = (select(cast(literal(rtype), String(16)).label("type"), model.id.label("id"),
                    model.unit_id.label("unit_id"), model.updated_at.label("updated_at"),
                    model.version.label("version"), mark.version.label("seen"),
                    cast(priority, Integer).label("priority"), *[getattr(model, name) for name in extra])
             .select_from(model).outerjoin(mark, joined)
             .where(model.unit_id.in_(village_ids), model.deleted.is_(False), or_(changed, new_comment)))
    if f is not None:
        query = query.where(*filters.conditions(rtype, f, model))
    return query


def pending(user: User, f: Filters | None = None, types: tuple[str, ...] = QUEUE_TYPES, ranked: bool = True):
    """A subquery (type, id, unit_id, updated_at, version, seen, priority) of what waits for the user's
    review (of `types`, narrowed by the filters' type); unless `ranked`, every priority is PLAIN (cheaper,
    for counting and marking)."""
    village_ids = list(scope.village_ids(user))
    if f is not None and f.rtype:
        types = tuple(t for t in types if t == f.rtype)
    now = utcnow() if ranked else None
    return union_all(*[_pending_select(user, village_ids, t, f, now) for t in types]).subquery("pending")


def pending_of(user: User, f: Filters, rtype: str, *extra: str):
    """What waits of one type, as `pending` has it plus the record's columns named in `extra`."""
    return _pending_select(user, list(scope.village_ids(user)), rtype, f, utcnow(), extra).subquery("pending")


def in_digest(sub):
    """The rows summed up in the journal digest rather than listed: journals with nothing needing an answer."""
    return and_(sub.c.type == "journal", sub.c.priority == PLAIN)


def queue_count(user: User) -> int:
    """How many records wait for the user's review (the number in the navigation), once per request."""
    cache = g.setdefault("review_queue_count", {})
    if user.id not in cache:
        sub = pending(user, ranked=False)
        cache[user.id] = db.session.scalar(select(func.count()).select_from(sub)) or 0
    return cache[user.id]


class RowsPagination(Pagination):
    """Flask-SQLAlchemy's pagination over a select of plain rows (its own select pagination keeps only
    the first column), with the total counted beforehand."""

    def _query_items(self):
        query = self._query_args["select"].limit(self.per_page).offset(self._query_offset)
        return list(db.session.execute(query).all())

    def _query_count(self) -> int:
        return self._query_args["total"]


@dataclass
class QueueItem:
    rtype: str
    view: records.RecordView
    village: Unit
    author: str
    editor: str
    day: str                   # the record's date (journal, meeting), else the day it was recorded
    changed: str               # when it last changed, Beijing time
    summary: str
    status: str | None
    urgent: bool
    reason: str                # new | changed | comment
    seen: int | None
    comments: int
    attention: str | None = None   # one of ATTENTION, or None for a plain change
    why: str = ""                  # ... said in words
    photos: list = field(default_factory=list)  # photos.PhotoView, oldest first

    @property
    def village_name(self) -> str:
        return self.village.name if self.village else ""

    @property
    def id(self) -> str:
        return self.view.id

    @property
    def version(self) -> int:
        return self.view.version

    @property
    def type_label(self) -> str:
        return labels.type_label(self.rtype)


@dataclass
class VillageGroup:
    village: Unit
    waiting: int               # in the whole queue (with the filters), not only on this page
    items: list[QueueItem] = field(default_factory=list)


def _short(text: str | None, length: int = SUMMARY_LENGTH) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= length else text[:length] + "…"


def summary(view: records.RecordView) -> str:
    f = view.fields
    if view.rtype == "journal":
        return _short(f.get("text"))
    if view.rtype == "problem":
        return _short(f.get("title"))
    if view.rtype == "meeting":
        return _short(f.get("topic"))
    if view.rtype == "request":
        return _short(f.get("content"))
    if view.rtype == "task":
        return _short(f.get("title"))
    return ""


def record_day(view: records.RecordView) -> str:
    value = view.fields.get("date") if view.rtype in ("journal", "meeting") else None
    if value:
        return value
    local = to_local(view.created_at)
    return local.date().isoformat() if local else ""


def comment_counts(pairs) -> dict[tuple[str, str], int]:
    """{(type, id): number of live review comments and replies} for the given records, one query."""
    out: dict[tuple[str, str], int] = {}
    by_type: dict[str, list[str]] = {}
    for rtype, record_id in pairs:
        by_type.setdefault(rtype, []).append(record_id)
    if not by_type:
        return out
    conditions = [and_(Review.target_type == t, Review.target_id.in_(ids)) for t, ids in by_type.items()]
    query = (select(Review.target_type, Review.target_id, func.count())
             .where(Review.deleted.is_(False), or_(*conditions))
             .group_by(Review.target_type, Review.target_id))
    for rtype, record_id, number in db.session.execute(query):
        out[(rtype, record_id)] = number
    return out


def why_text(attention: str | None, view: records.RecordView) -> str:
    """Why an item needs an answer, in words."""
    if attention == "urgent":
        return _("Urgent problem, not yet resolved")
    if attention == "flag":
        flag = view.fields.get("flag") if view.rtype == "task" else None
        if flag:
            return _("Flagged by the village: %(flag)s", flag=labels.flag_label(flag))
        return _("Conflicting changes to settle")
    if attention == "reply":
        return _("The village replied or commented since you looked")
    if attention == "waiting":
        return _("The resident has waited more than %(days)d days for an answer", days=REQUEST_LEFT_WAITING.days)
    return ""


@dataclass
class QueuePage:
    pagination: ViewPagination     # the listed items (not the digest's journals)
    attention: list[QueueItem]     # this page's items that need an answer, most urgent first
    groups: list[VillageGroup]     # this page's other changes, by village
    per_village: dict[int, int]    # {village id: records waiting}, the whole queue with the filters
    total: int                     # every record waiting, journals of the digest included
    shown_at: dt.datetime          # before the queries: "mark all" marks nothing changed after it


def _load_views(user: User, rows) -> dict[tuple[str, str], records.RecordView]:
    actor = records.actor_of(user)
    loaded: dict[tuple[str, str], records.RecordView] = {}
    for rtype in QUEUE_TYPES:
        ids = [r.id for r in rows if r.type == rtype]
        if ids:
            model = SYNCED_MODELS[rtype]
            found = db.session.scalars(scope.scoped(model, user).where(model.id.in_(ids))
                                       .options(selectinload(model.unit)))
            loaded |= {(rtype, view.id): view for view in records.views(actor, rtype, found)}
    return loaded


def _reason(seen: int | None, version: int) -> str:
    if seen is None:
        return "new"
    return "changed" if seen < version else "comment"


def queue_page(user: User, f: Filters, per_page: int = PER_PAGE) -> QueuePage:
    """One page of the queue: what needs an answer first, then the other changes by village; plain
    journals only counted here (the digest shows them)."""
    shown_at = utcnow()
    sub = pending(user, f)
    digest = in_digest(sub)
    counted = db.session.execute(select(sub.c.unit_id, case((digest, 1), else_=0).label("digest"), func.count())
                                 .group_by(sub.c.unit_id, "digest")).all()
    per_village: dict[int, int] = {}
    for unit_id, _digest, number in counted:
        per_village[unit_id] = per_village.get(unit_id, 0) + number
    total = sum(per_village.values())
    listed_total = sum(number for _u, in_journal_digest, number in counted if not in_journal_digest)
    if not f.active:
        g.setdefault("review_queue_count", {})[user.id] = total      # the navigation's number, for free
    needs_answer = sub.c.priority < PLAIN
    ordered = (select(sub).join(Unit, Unit.id == sub.c.unit_id).where(~digest)
               .order_by(sub.c.priority, case((needs_answer, sub.c.updated_at), else_=None),
                         Unit.code, sub.c.updated_at.desc(), sub.c.type, sub.c.id))
    pagination = RowsPagination(page=f.page, per_page=per_page, error_out=False, select=ordered,
                                total=listed_total)
    rows = pagination.items
    loaded = _load_views(user, rows)
    counts = comment_counts(loaded)
    found = photos.of_owners(user, loaded)
    units = {u.id: u for u in scope.villages(user)}
    attention: list[QueueItem] = []
    groups: dict[int, VillageGroup] = {}
    for r in rows:
        view = loaded.get((r.type, r.id))
        if view is None:          # changed scope or gone between the two queries
            continue
        key = ATTENTION[r.priority - 1] if r.priority < PLAIN else None
        item = QueueItem(
            rtype=r.type, view=view, village=units.get(view.unit_id), author=view.author, editor=view.editor,
            day=record_day(view), changed=view.updated_text, summary=summary(view),
            status=view.fields.get("status"), urgent=bool(view.fields.get("urgent")),
            reason=_reason(r.seen, view.version), seen=r.seen, comments=counts.get((r.type, r.id), 0),
            attention=key, why=why_text(key, view), photos=found.get((r.type, r.id), []))
        if key:
            attention.append(item)
            continue
        group = groups.get(view.unit_id)
        if group is None:
            group = groups[view.unit_id] = VillageGroup(units.get(view.unit_id), per_village.get(view.unit_id, 0))
        group.items.append(item)
    shown = ViewPagination(pagination, attention + [item for group in groups.values() for item in group.items])
    return QueuePage(shown, attention, list(groups.values()), per_village, total, shown_at)


# ---------------------------------------------------------------- marks

def mark(user: User, wanted: list[tuple[str, str, int | None]]) -> int:
    """Mark records as reviewed by `user`: (type, id, version seen or None for the current one).

    Only records in the user's scope; the version is the one the reviewer saw, never above the
    record's current version, so a change that arrived after the page was shown stays in the queue.
    A mark never goes back to an older version. Returns how many records were marked.
    """
    by_type: dict[str, dict[str, int | None]] = {}
    for rtype, record_id, version in wanted:
        if rtype in QUEUE_TYPES and isinstance(record_id, str) and 0 < len(record_id) <= 36:
            by_type.setdefault(rtype, {})[record_id] = version
    values = []
    now = utcnow()
    for rtype, ids in by_type.items():
        model = SYNCED_MODELS[rtype]
        query = scope.scoped(model, user).where(model.id.in_(list(ids))).with_only_columns(model.id, model.version)
        for record_id, current in db.session.execute(query):
            seen = ids[record_id]
            version = current if seen is None else max(1, min(seen, current))
            values.append({"user_id": user.id, "type": rtype, "record_id": record_id, "version": version,
                           "marked_at": now})
    if values:
        _upsert(values)
        db.session.commit()
    return len(values)


def mark_all(user: User, f: Filters, shown_at: dt.datetime) -> int:
    """Mark everything in the user's queue (with the filters: one village, one type …) that the page shown
    at `shown_at` held: one INSERT … SELECT over the queue's union, nothing read into Python.

    A record changed after `shown_at` is left in the queue (its new version was not shown), and the mark's
    time is `shown_at`, so a comment that arrived after the page still brings its record back.
    Returns how many records were marked.
    """
    shown_at = min(shown_at, utcnow())
    sub = pending(user, f, ranked=False)
    rows = (select(literal(user.id, Integer), sub.c.type, sub.c.id, sub.c.version, literal(shown_at, DateTime))
            .where(sub.c.updated_at <= shown_at))
    statement = _upsert_statement(
        lambda insert: insert.from_select(["user_id", "type", "record_id", "version", "marked_at"], rows))
    marked = db.session.execute(statement.execution_options(preserve_rowcount=True)).rowcount
    db.session.commit()
    return max(marked or 0, 0)


def _upsert(values: list[dict]) -> None:
    db.session.execute(_upsert_statement(lambda insert: insert.values(values)))


def _upsert_statement(rows):
    """INSERT (rows) … ON CONFLICT DO UPDATE that never moves a mark back: neither its version nor its time."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = ReviewMark.__table__
    statement = rows(insert(table))
    new, old = statement.excluded, table.c
    later = lambda column: case((new[column] > old[column], new[column]), else_=old[column])  # noqa: E731
    return statement.on_conflict_do_update(
        index_elements=[old.user_id, old.type, old.record_id],
        set_={"version": later("version"), "marked_at": later("marked_at")})


def mark_of(user: User, rtype: str, record_id: str) -> ReviewMark | None:
    return db.session.get(ReviewMark, (user.id, rtype, record_id))


# ---------------------------------------------------------------- the thread on a record page

@dataclass
class ThreadEntry:
    id: str
    author: str
    from_village: bool
    at: str
    comment: str
    decision: str | None
    reply_to: str | None
    replies: list = field(default_factory=list)

    @property
    def decision_label(self) -> str:
        return labels.decision_label(self.decision)


def thread_views(entries: list[dict]) -> list[ThreadEntry]:
    """`sync_service.thread` entries as comments with their replies under them (oldest first).

    A reply to a reply is shown under the comment that started the conversation; a reply whose
    comment is not in the thread stands on its own.
    """
    authors = {e.get("author") for e in entries if e.get("author")}
    roles = dict(db.session.execute(select(User.username, User.role).where(User.username.in_(authors))).all()) \
        if authors else {}
    views = {}
    for e in entries:
        views[e["id"]] = ThreadEntry(
            id=e["id"], author=e.get("author") or "", from_village=roles.get(e.get("author")) in ("secretary", "cadre"),
            at=records.local_text(e.get("created_at")), comment=e.get("comment") or "",
            decision=e.get("decision"), reply_to=e.get("reply_to"))
    parent = {i: v.reply_to for i, v in views.items()}

    def root(entry_id: str) -> str:
        seen = set()
        while parent.get(entry_id) in views and entry_id not in seen:
            seen.add(entry_id)
            entry_id = parent[entry_id]
        return entry_id

    top = []
    for entry_id, view in views.items():
        start = root(entry_id)
        if start == entry_id:
            top.append(view)
        else:
            views[start].replies.append(view)
    return top


def decision_choices():
    return [(value, labels.decision_label(value)) for value in TYPES["review"].fields["decision"].order]
