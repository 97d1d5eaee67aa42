"""The review queue (审阅), review marks and the comment thread of a record.

A record waits in a reviewer's queue when
  * it changed since the reviewer last looked: no ReviewMark (user, type, id) with a version ≥ the
    record's version — unless the reviewer made that last change themself (they have seen it); or
  * someone else commented on it or replied to a comment after the reviewer last looked
    (after their mark, or after their own last change when they never marked it), so a village's
    answer to a 需跟进 comment does not go unseen.

The queue is one UNION ALL of a select per type, each an outer join against review_marks on its
primary key plus an EXISTS on reviews(target_id); ordered by village then newest change, LIMIT/OFFSET.
Marks are server-only rows (not synced records), written here directly with an upsert.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import g
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import String, and_, case, cast, exists, func, literal, or_, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import selectinload

from sync.types import TYPES

from .. import labels, scope
from ..extensions import db
from ..models import SYNCED_MODELS, Review, ReviewMark, Unit, User, utcnow
from . import filters, records
from .filters import Filters
from .listing import ViewPagination
from .queries import PER_PAGE, to_local

QUEUE_TYPES = ("journal", "problem", "meeting", "request", "task")
SUMMARY_LENGTH = 160


def _pending_select(user: User, village_ids, rtype: str, f: Filters | None):
    model = SYNCED_MODELS[rtype]
    mark = ReviewMark
    joined = and_(mark.user_id == user.id, mark.type == rtype, mark.record_id == model.id)
    # After what time a comment by someone else brings the record back.
    since = func.coalesce(mark.marked_at, case((model.updated_by == user.id, model.updated_at), else_=None))
    new_comment = exists().where(Review.target_type == rtype, Review.target_id == model.id,
                                 Review.deleted.is_(False), Review.created_by != user.id,
                                 Review.created_at > since)
    changed = and_(model.updated_by != user.id, or_(mark.record_id.is_(None), mark.version < model.version))
    query = (select(cast(literal(rtype), String(16)).label("type"), model.id.label("id"),
                    model.unit_id.label("unit_id"), model.updated_at.label("updated_at"),
                    model.version.label("version"), mark.version.label("seen"))
             .select_from(model).outerjoin(mark, joined)
             .where(model.unit_id.in_(village_ids), model.deleted.is_(False), or_(changed, new_comment)))
    if f is not None:
        query = query.where(*filters.conditions(rtype, f, model))
    return query


def pending(user: User, f: Filters | None = None):
    """A subquery (type, id, unit_id, updated_at, version, seen) of what waits for the user's review."""
    village_ids = list(scope.village_ids(user))
    types = (f.rtype,) if f is not None and f.rtype else QUEUE_TYPES
    return union_all(*[_pending_select(user, village_ids, t, f) for t in types]).subquery("pending")


def queue_count(user: User) -> int:
    """How many records wait for the user's review (the number in the navigation), once per request."""
    cache = g.setdefault("review_queue_count", {})
    if user.id not in cache:
        sub = pending(user)
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


def queue_page(user: User, f: Filters, per_page: int = PER_PAGE):
    """(the page's numbers, its items grouped by village, per-village counts); the pagination holds the
    queue items, not the rows they were read from."""
    sub = pending(user, f)
    per_village = dict(db.session.execute(select(sub.c.unit_id, func.count()).group_by(sub.c.unit_id)).all())
    ordered = (select(sub).join(Unit, Unit.id == sub.c.unit_id)
               .order_by(Unit.code, sub.c.updated_at.desc(), sub.c.type, sub.c.id))
    total = sum(per_village.values())
    if not f.active:
        g.setdefault("review_queue_count", {})[user.id] = total      # the navigation's number, for free
    pagination = RowsPagination(page=f.page, per_page=per_page, error_out=False, select=ordered, total=total)
    rows = pagination.items
    actor = records.actor_of(user)
    loaded: dict[tuple[str, str], records.RecordView] = {}
    for rtype in QUEUE_TYPES:
        ids = [r.id for r in rows if r.type == rtype]
        if ids:
            model = SYNCED_MODELS[rtype]
            found = db.session.scalars(scope.scoped(model, user).where(model.id.in_(ids))
                                       .options(selectinload(model.unit)))
            loaded |= {(rtype, view.id): view for view in records.views(actor, rtype, found)}
    counts = comment_counts(loaded)
    units = {u.id: u for u in scope.villages(user)}
    groups: dict[int, VillageGroup] = {}
    for r in rows:
        view = loaded.get((r.type, r.id))
        if view is None:          # changed scope or gone between the two queries
            continue
        if r.seen is None:
            reason = "new"
        elif r.seen < view.version:
            reason = "changed"
        else:
            reason = "comment"
        item = QueueItem(
            rtype=r.type, view=view, village=units.get(view.unit_id), author=view.author, editor=view.editor,
            day=record_day(view), changed=view.updated_text, summary=summary(view),
            status=view.fields.get("status"), urgent=bool(view.fields.get("urgent")),
            reason=reason, seen=r.seen, comments=counts.get((r.type, r.id), 0))
        group = groups.get(view.unit_id)
        if group is None:
            group = groups[view.unit_id] = VillageGroup(units.get(view.unit_id), per_village.get(view.unit_id, 0))
        group.items.append(item)
    shown = ViewPagination(pagination, [item for group in groups.values() for item in group.items])
    return shown, list(groups.values()), per_village


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


def _upsert(values: list[dict]) -> None:
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(ReviewMark).values(values)
    keep_higher = case((statement.excluded.version > ReviewMark.version, statement.excluded.version),
                       else_=ReviewMark.version)
    statement = statement.on_conflict_do_update(
        index_elements=[ReviewMark.user_id, ReviewMark.type, ReviewMark.record_id],
        set_={"version": keep_higher, "marked_at": statement.excluded.marked_at})
    db.session.execute(statement)


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
