"""The ledgers (台账) of problems, residents' requests and tasks, built from what the villages recorded.

One row per live record, in village order then the order it was recorded. Values are what a person reads:
statuses and enums translated, people by name, dates as YYYY-MM-DD in Beijing time, residents' names and
contacts masked by the same views the township pages get (`township.records`). The date range is about the
day a record was recorded (Beijing time); for a task, the day it reached the village.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask_babel import pgettext
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from sync.engine import Actor

from .. import labels
from ..extensions import db
from ..models import Problem, Request, Task, Unit
from ..township import records
from ..township.filters import local_day_start
from ..township.queries import to_local

KINDS = ("problem", "request", "task")
MODELS = {"problem": Problem, "request": Request, "task": Task}


def day(value) -> str:
    """A date, or a stored UTC time as its Beijing day, as YYYY-MM-DD ('' for none)."""
    if isinstance(value, dt.datetime):
        value = to_local(value).date()
    return value.isoformat() if value else ""


def _text(name: str) -> Callable:
    """A field as a person reads it; an empty cell rather than a dash."""
    return lambda view, row: view.text(name) if view.fields.get(name) not in (None, "") else ""


def _reached_village(row) -> dt.date | dt.datetime:
    return row.sent_on or row.created_at


# (header, cell) per column, by kind; the headers are the words a county's ledger uses.
def _columns(kind: str) -> list[tuple[str, Callable]]:
    village = (pgettext("ledger", "Village"), lambda view, row: view.village_name)
    if kind == "problem":
        return [village,
                (pgettext("ledger", "Problem"), _text("title")),
                (pgettext("ledger", "Detail"), _text("detail")),
                (pgettext("ledger", "Category"), _text("category")),
                (pgettext("ledger", "Urgent"), lambda view, row: view.text("urgent")),
                (pgettext("ledger", "Status"), lambda view, row: view.status_text()),
                (pgettext("ledger", "Responsible"), _text("owner")),
                (pgettext("ledger", "Deadline"), lambda view, row: day(row.due)),
                (pgettext("ledger", "Raised on"), lambda view, row: day(row.created_at)),
                (pgettext("ledger", "Resolved on"), lambda view, row: day(row.resolved_at)),
                (pgettext("ledger", "How it was resolved"), _text("resolution")),
                (pgettext("ledger", "Source"), _text("source_type"))]
    if kind == "request":
        return [village,
                (pgettext("ledger", "Date"), lambda view, row: day(row.created_at)),
                (pgettext("ledger", "Resident"), _text("resident_name")),
                (pgettext("ledger", "Contact"), _text("resident_contact")),
                (pgettext("ledger", "Request"), _text("content")),
                (pgettext("ledger", "Category"), _text("category")),
                (pgettext("ledger", "Status"), lambda view, row: view.status_text()),
                (pgettext("ledger", "Reply"), _text("reply")),
                (pgettext("ledger", "Replied on"), lambda view, row: day(row.replied_on or row.answered_at)),
                (pgettext("ledger", "Livelihood project"), lambda view, row: view.text("livelihood_project"))]
    return [village,
            (pgettext("ledger", "Task"), _text("title")),
            (pgettext("ledger", "Item code"), _text("item_code")),
            (pgettext("ledger", "Item name"), _text("item_name")),
            (pgettext("ledger", "Screening"),
             lambda view, row: labels.gate_label(view.fields.get("gate")) if row.origin == "township" else ""),
            (pgettext("ledger", "Origin"), _text("origin")),
            (pgettext("ledger", "Reached the village on"), lambda view, row: day(_reached_village(row))),
            (pgettext("ledger", "Assignee"), _text("assignee")),
            (pgettext("ledger", "Deadline"), lambda view, row: day(row.due)),
            (pgettext("ledger", "Status"), lambda view, row: view.status_text()),
            (pgettext("ledger", "Done on"), lambda view, row: day(row.done_at)),
            (pgettext("ledger", "How it was done"), _text("note"))]


def title(kind: str) -> str:
    return {"problem": pgettext("ledger", "Problem ledger"), "request": pgettext("ledger", "Request ledger"),
            "task": pgettext("ledger", "Task ledger")}[kind]


def _in_range(kind: str, first: dt.date | None, last: dt.date | None) -> list:
    model = MODELS[kind]
    recorded = []
    if first:
        recorded.append(model.created_at >= local_day_start(first))
    if last:
        recorded.append(model.created_at < local_day_start(last + dt.timedelta(days=1)))
    if kind != "task" or not recorded:
        return recorded
    sent = [c for c in (Task.sent_on >= first if first else None, Task.sent_on <= last if last else None)
            if c is not None]
    return [or_(and_(Task.sent_on.is_not(None), *sent), and_(Task.sent_on.is_(None), *recorded))]


def _rows(kind: str, village_ids, first, last) -> list:
    model = MODELS[kind]
    query = (select(model).join(Unit, Unit.id == model.unit_id)
             .where(model.unit_id.in_(village_ids), model.deleted.is_(False), *_in_range(kind, first, last))
             .options(selectinload(model.unit)).order_by(Unit.code, model.created_at, model.seq))
    if kind == "task":
        query = query.where(Task.on_village_list())
    return list(db.session.scalars(query))


def ledger(actor: Actor, kind: str, village_ids, first: dt.date | None = None,
           last: dt.date | None = None) -> list[list]:
    """The ledger's cells: the header row, then one row per record of `village_ids` (within the actor's)."""
    columns = _columns(kind)
    rows = _rows(kind, set(village_ids) & set(actor.village_ids), first, last)
    header = [pgettext("ledger", "No.")] + [name for name, _cell in columns]
    body = [[number] + [cell(view, row) for _name, cell in columns]
            for number, (row, view) in enumerate(zip(rows, records.views(actor, kind, rows)), start=1)]
    return [header, *body]
