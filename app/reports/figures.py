"""Weekly figures, computed from the records people already made: nobody fills in a report."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select

from sync.types import SHANGHAI

from ..dates import span_text
from ..extensions import db
from ..models import Journal, Problem, Request, Task, Unit, utcnow

METRICS = ("journals", "problems_opened", "problems_resolved", "tasks_done", "tasks_overdue",
           "requests_answered", "requests_unanswered")


@dataclass(frozen=True)
class Week:
    monday: dt.date

    @classmethod
    def parse(cls, text: str | None, today: dt.date | None = None) -> "Week":
        """`2026-W48`, or the current week in Asia/Shanghai; raises ValueError on a bad week."""
        if text:
            year, _, number = text.partition("-W")
            if not (year.isascii() and year.isdecimal() and 1990 <= int(year) <= 2100):
                raise ValueError(text)
            return cls(dt.date.fromisocalendar(int(year), int(number), 1))
        today = today or utcnow().replace(tzinfo=dt.timezone.utc).astimezone(SHANGHAI).date()
        return cls(today - dt.timedelta(days=today.weekday()))

    @property
    def sunday(self) -> dt.date:
        return self.monday + dt.timedelta(days=6)

    @property
    def dates_text(self) -> str:
        """The week as people read it: 11月30日–12月6日."""
        return span_text(self.monday, self.sunday)

    @property
    def label(self) -> str:
        year, number, _ = self.monday.isocalendar()
        return f"{year}-W{number:02d}"

    def shifted(self, weeks: int) -> "Week":
        return Week(self.monday + dt.timedelta(weeks=weeks))

    def utc_bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """Monday 00:00 to next Monday 00:00 in Asia/Shanghai, as naive UTC like the stored times."""
        start = dt.datetime.combine(self.monday, dt.time(), SHANGHAI).astimezone(dt.timezone.utc)
        return start.replace(tzinfo=None), (start + dt.timedelta(days=7)).replace(tzinfo=None)


@dataclass
class Row:
    unit: Unit
    figures: dict = field(default_factory=lambda: dict.fromkeys(METRICS, 0))


def _counts(query) -> dict[int, int]:
    return dict(db.session.execute(query.group_by(query.selected_columns[0])).all())


def village_figures(village_ids, week: Week, now: dt.datetime | None = None) -> dict[int, dict]:
    """Each metric per village id, for the week."""
    now = now or utcnow()
    start, end = week.utc_bounds()
    live = lambda model: and_(model.unit_id.in_(village_ids), model.deleted.is_(False))  # noqa: E731
    count = lambda model: select(model.unit_id, func.count()).where(live(model))  # noqa: E731
    # Overdue and long-unanswered are counted as they stood at the end of the week (or now, if sooner).
    cutoff = min(end, now)
    cutoff_day = cutoff.replace(tzinfo=dt.timezone.utc).astimezone(SHANGHAI).date()
    open_at_cutoff = lambda column: or_(column.is_(None), column >= cutoff)  # noqa: E731
    queries = {
        "journals": count(Journal).where(Journal.date.between(week.monday, week.sunday)),
        "problems_opened": count(Problem).where(Problem.created_at >= start, Problem.created_at < end),
        "problems_resolved": count(Problem).where(Problem.resolved_at >= start, Problem.resolved_at < end),
        "tasks_done": count(Task).where(Task.on_village_list(), Task.done_at >= start, Task.done_at < end),
        "tasks_overdue": count(Task).where(Task.on_village_list(), Task.due < cutoff_day,
                                           open_at_cutoff(Task.done_at)),
        "requests_answered": count(Request).where(Request.answered_at >= start, Request.answered_at < end),
        "requests_unanswered": count(Request).where(open_at_cutoff(Request.answered_at),
                                                    Request.created_at < cutoff - dt.timedelta(days=14)),
    }
    out = {unit_id: dict.fromkeys(METRICS, 0) for unit_id in village_ids}
    for metric, query in queries.items():
        for unit_id, number in _counts(query).items():
            out[unit_id][metric] = number
    return out


def report(villages: list[Unit], week: Week, by: str = "village") -> tuple[list[Row], dict]:
    """Rows per village, or per township (`by="township"`), and the totals."""
    per_village = village_figures([v.id for v in villages], week)
    rows: dict[int, Row] = {}
    for village in villages:
        unit = village if by == "village" else village.parent
        row = rows.setdefault(unit.id, Row(unit))
        for metric, number in per_village[village.id].items():
            row.figures[metric] += number
    ordered = sorted(rows.values(), key=lambda r: r.unit.code)
    totals = {metric: sum(r.figures[metric] for r in ordered) for metric in METRICS}
    return ordered, totals
