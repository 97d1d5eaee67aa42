"""What the dispatch gate saves, per month: figures counted from the tasks table, per village and per sender.

The tasks counted are those the township sent down (origin "township") in the month, by when they were
created, Beijing time; their gate and flag are counted as they stand now. One grouped query per table
(villages, senders). Rows go in village code (or user name) order, never by a figure: this is not a ranking.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, select

from sync.types import FLAGS, SHANGHAI

from ..extensions import db
from ..models import Task, Unit, User, WorkItem, utcnow

COUNTS = ("sent", "on_list", "off_list", "approved", "rejected", "returned", "duplicates_stopped")
FIGURES = COUNTS + ("hours",) + tuple(f"flag_{kind}" for kind in FLAGS)


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str | None, today: dt.date | None = None) -> "Month":
        """`2026-11`, or the current month in Beijing time; raises ValueError on anything else."""
        if not text:
            today = today or utcnow().replace(tzinfo=dt.timezone.utc).astimezone(SHANGHAI).date()
            return cls(today.year, today.month)
        year, sep, month = text.strip().partition("-")
        if not (sep and len(year) == 4 and year.isascii() and year.isdecimal() and len(month) == 2
                and month.isascii() and month.isdecimal()):
            raise ValueError(text)
        if not (1990 <= int(year) <= 2100 and 1 <= int(month) <= 12):
            raise ValueError(text)
        return cls(int(year), int(month))

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    def shifted(self, months: int) -> "Month":
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def utc_bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """The 1st 00:00 to the next month's 1st 00:00 in Beijing time, as naive UTC like the stored times."""
        def start(month: "Month") -> dt.datetime:
            local = dt.datetime.combine(month.first_day, dt.time(), SHANGHAI)
            return local.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return start(self), start(self.shifted(1))


def _zero() -> dict:
    return {name: (0.0 if name == "hours" else 0) for name in FIGURES}


@dataclass
class Row:
    key: str            # village code, or user name
    name: str           # village name, or the sender's unit
    group: str = ""     # the village's township
    figures: dict = field(default_factory=_zero)


@dataclass
class Figures:
    month: Month
    villages: list[Row]
    senders: list[Row]
    totals: dict


def _columns(county: Unit):
    """The figures as aggregate columns of one select over the month's township tasks."""
    def count(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    hours = func.coalesce(func.sum(case((Task.gate == "approved", WorkItem.effort_hours), else_=None)), 0.0)
    columns = {
        "sent": func.count(Task.id),
        "on_list": count(Task.item_code.is_not(None)),
        "off_list": count(Task.item_code.is_(None)),
        "approved": count(Task.gate == "approved"),
        "rejected": count(Task.gate == "rejected"),
        "returned": count(Task.gate == "returned"),
        "duplicates_stopped": count(and_(Task.duplicate_of.is_not(None), Task.gate.in_(("rejected", "withdrawn")))),
        "hours": hours,
    }
    columns |= {f"flag_{kind}": count(Task.flag == kind) for kind in FLAGS}
    return columns


def _grouped(group_by, village_ids, county: Unit, month: Month) -> dict:
    """{group value: {figure: number}} for the month's township tasks of the villages."""
    start, end = month.utc_bounds()
    columns = _columns(county)
    query = (select(group_by, *columns.values())
             .select_from(Task)
             .outerjoin(WorkItem, and_(WorkItem.county_id == county.id, WorkItem.code == Task.item_code))
             .where(Task.unit_id.in_(village_ids), Task.origin == "township", Task.deleted.is_(False),
                    Task.created_at >= start, Task.created_at < end)
             .group_by(group_by))
    out = {}
    for key, *values in db.session.execute(query):
        out[key] = {name: (float(value or 0) if name == "hours" else int(value or 0))
                    for name, value in zip(columns, values)}
    return out


def month_figures(villages: list[Unit], county: Unit, month: Month) -> Figures:
    """Per village (every village in scope, in code order), per sender (user name order), and the totals."""
    ids = [v.id for v in villages]
    per_village = _grouped(Task.unit_id, ids, county, month)
    per_sender = _grouped(Task.created_by, ids, county, month)
    village_rows = [Row(v.code, v.name, v.parent.name if v.parent else "", per_village.get(v.id, _zero()))
                    for v in sorted(villages, key=lambda v: v.code)]
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(per_sender)))} if per_sender else {}
    sender_rows = sorted((Row(users[uid].name, users[uid].unit.name, "", figures)
                          for uid, figures in per_sender.items() if uid in users), key=lambda r: r.key)
    totals = _zero()
    for row in village_rows:
        for name in FIGURES:
            totals[name] += row.figures[name]
    return Figures(month, village_rows, sender_rows, totals)


def hours_text(value: float) -> str:
    """12, 12.5: hours without a trailing .0."""
    value = round(float(value or 0), 1)
    return str(int(value)) if value.is_integer() else f"{value:.1f}"
