"""The month's 驻村纪实 (record of the residency) of a village, built from what its people already recorded.

Nobody types a word for it: days in the village are the distinct dates with a journal (never a check-in, never
a location), the rest is the month's journals, the problems resolved, requests answered and tasks done (their
milestone times, stored naive UTC, cut at midnight Beijing time like the weekly report) and the township's
comments with their answers. Records come through `records.views`, so residents' names are masked for anyone
outside the village, in every format made from this.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import and_, distinct, func, select

from sync.engine import Actor
from sync.types import SHANGHAI

from ..dates import month_text
from ..extensions import db
from ..labels import type_label
from ..models import SYNCED_MODELS, Journal, Problem, Request, Review, Task, Unit, User, utcnow
from ..township import records
from ..township.review import ThreadEntry, thread_views

FIGURES = ("days_in_village", "journals", "visits", "problems_resolved", "requests_answered", "tasks_done")
MONTH_PATTERN = re.compile(r"([0-9]{4})-([0-9]{2})")


@dataclass(frozen=True)
class Month:
    first: dt.date

    @classmethod
    def parse(cls, text: str | None, today: dt.date | None = None) -> "Month":
        """`2026-11`, or the current month in Asia/Shanghai; raises ValueError on anything else."""
        if not text:
            today = today or utcnow().replace(tzinfo=dt.timezone.utc).astimezone(SHANGHAI).date()
            return cls(today.replace(day=1))
        match = MONTH_PATTERN.fullmatch(text)
        if not match or not 1990 <= int(match[1]) <= 2100 or not 1 <= int(match[2]) <= 12:
            raise ValueError(text)
        return cls(dt.date(int(match[1]), int(match[2]), 1))

    @property
    def label(self) -> str:
        return f"{self.first.year}-{self.first.month:02d}"

    @property
    def text(self) -> str:
        """The month as people read it: 2026年11月 (November 2026)."""
        return month_text(self.first)

    @property
    def last(self) -> dt.date:
        return self.shifted(1).first - dt.timedelta(days=1)

    def shifted(self, months: int) -> "Month":
        index = self.first.year * 12 + self.first.month - 1 + months
        return Month(dt.date(index // 12, index % 12 + 1, 1))

    def utc_bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """The 1st 00:00 to the next month's 1st 00:00 in Asia/Shanghai, as naive UTC like the stored times."""
        def start(day: dt.date) -> dt.datetime:
            return dt.datetime.combine(day, dt.time(), SHANGHAI).astimezone(dt.timezone.utc).replace(tzinfo=None)
        return start(self.first), start(self.shifted(1).first)


def _live(model, village_ids):
    return and_(model.unit_id.in_(village_ids), model.deleted.is_(False))


def _reached(model, column, month: Month):
    start, end = month.utc_bounds()
    return and_(column >= start, column < end, *((Task.on_village_list(),) if model is Task else ()))


def month_figures(village_ids, month: Month) -> dict[int, dict]:
    """Each figure per village id, for the month; the caller passes only villages in its user's scope."""
    village_ids = list(village_ids)
    journals = and_(_live(Journal, village_ids), Journal.date.between(month.first, month.last))
    queries = {
        # The residency's days are the first secretary's: a cadre lives in the village anyway.
        "days_in_village": select(Journal.unit_id, func.count(distinct(Journal.date)))
        .join(User, User.id == Journal.created_by).where(journals, User.role == "secretary"),
        "journals": select(Journal.unit_id, func.count()).where(journals),
        "visits": select(Journal.unit_id, func.coalesce(func.sum(Journal.visits), 0)).where(journals),
        "problems_resolved": select(Problem.unit_id, func.count()).where(
            _live(Problem, village_ids), _reached(Problem, Problem.resolved_at, month)),
        "requests_answered": select(Request.unit_id, func.count()).where(
            _live(Request, village_ids), _reached(Request, Request.answered_at, month)),
        "tasks_done": select(Task.unit_id, func.count()).where(
            _live(Task, village_ids), _reached(Task, Task.done_at, month)),
    }
    out = {unit_id: dict.fromkeys(FIGURES, 0) for unit_id in village_ids}
    for name, query in queries.items():
        for unit_id, number in db.session.execute(query.group_by(query.selected_columns[0])).all():
            out[unit_id][name] = int(number or 0)
    return out


@dataclass(frozen=True)
class Done:
    """A problem resolved, a request answered or a task done in the month, as the record shows it."""
    record: records.RecordView
    title: str
    outcome: str       # the resolution, the reply, the note
    at: str            # when, Beijing time
    resident: str = ""  # a request's resident, masked outside the village


@dataclass
class Comment:
    """A township comment on one of the village's records, with the answers under it."""
    kind: str          # what it is about: 日志, 问题 …
    title: str         # ... and which one
    thread: ThreadEntry


@dataclass(frozen=True)
class Village:
    """What a page shows of a village: never the row."""
    code: str
    name: str
    township: str

    @classmethod
    def of(cls, unit: Unit) -> "Village":
        return cls(unit.code, unit.name, unit.parent.name if unit.parent else "")


@dataclass
class MonthlyRecord:
    village: Village
    month: Month
    figures: dict
    journals: list[records.RecordView] = field(default_factory=list)
    problems: list[Done] = field(default_factory=list)
    requests: list[Done] = field(default_factory=list)
    tasks: list[Done] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.journals or self.problems or self.requests or self.tasks or self.comments)


def _done(actor: Actor, village: Unit, month: Month, rtype: str, column: str, title: str, outcome: str):
    model = SYNCED_MODELS[rtype]
    stamp = getattr(model, column)
    rows = db.session.scalars(select(model).where(_live(model, [village.id]), _reached(model, stamp, month))
                              .order_by(stamp, model.id)).all()
    return [Done(record=view, title=view.fields.get(title) or "", outcome=view.fields.get(outcome) or "",
                 at=records.local_text(getattr(row, column)), resident=view.fields.get("resident_name") or "")
            for row, view in zip(rows, records.views(actor, rtype, rows))]


def _titles(actor: Actor, village: Unit, targets: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    out = {}
    for rtype in {t for t, _ in targets}:
        model = SYNCED_MODELS.get(rtype)
        ids = [i for t, i in targets if t == rtype]
        if model is None or model is Review:
            continue
        rows = db.session.scalars(select(model).where(model.id.in_(ids), model.unit_id == village.id)).all()
        out.update({(rtype, v.id): v.title for v in records.views(actor, rtype, rows)})
    return out


def _comments(actor: Actor, village: Unit, month: Month) -> list[Comment]:
    """Threads started by the township (or county) that had a word in the month, oldest first."""
    start, end = month.utc_bounds()
    hidden_task = select(Task.id).where(Task.id == Review.target_id, ~Task.reaches_village()).exists()
    rows = db.session.execute(
        select(Review, User.username).join(User, User.id == Review.created_by)
        .where(_live(Review, [village.id]), Review.created_at < end,
               (Review.target_type != "task") | ~hidden_task)
        .order_by(Review.created_at, Review.seq)).all()
    in_month = {review.id for review, _ in rows if review.created_at >= start}
    entries = [{"id": r.id, "author": username, "created_at": r.created_at, "comment": r.comment,
                "decision": r.decision, "reply_to": r.reply_to} for r, username in rows]
    about = {r.id: (r.target_type, r.target_id) for r, _ in rows}
    threads = [t for t in thread_views(entries) if not t.from_village
               and ({t.id} | {reply.id for reply in t.replies}) & in_month]
    titles = _titles(actor, village, {about[t.id] for t in threads})
    return [Comment(kind=type_label(about[t.id][0]), title=titles.get(about[t.id], ""), thread=t) for t in threads]


def monthly_record(actor: Actor, village: Unit, month: Month) -> MonthlyRecord:
    """The month's record of one village, which the caller has checked is in the actor's scope."""
    if village.id not in actor.village_ids:
        raise LookupError(village.code)
    rows = db.session.scalars(
        select(Journal).where(_live(Journal, [village.id]), Journal.date.between(month.first, month.last))
        .order_by(Journal.date, Journal.created_at, Journal.id)).all()
    return MonthlyRecord(
        village=Village.of(village), month=month,
        figures=month_figures([village.id], month)[village.id],
        journals=records.views(actor, "journal", rows),
        problems=_done(actor, village, month, "problem", "resolved_at", "title", "resolution"),
        requests=_done(actor, village, month, "request", "answered_at", "content", "reply"),
        tasks=_done(actor, village, month, "task", "done_at", "title", "note"),
        comments=_comments(actor, village, month))
