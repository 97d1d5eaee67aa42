"""Dates and weeks as people read them: "11月30日–12月6日" (Nov 30 – Dec 6), never "2026-W49".

The ISO week ("2026-W49") stays the value on the wire and in links; only what a page shows is worded here.
Times on the pages are Beijing time on a 24-hour clock (`%Y-%m-%d %H:%M`, see the township's fmt_time).
"""
from __future__ import annotations

import datetime as dt
from babel.dates import format_skeleton
from flask_babel import get_locale

from sync.types import SHANGHAI


def _today() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


def day_text(day: dt.date, with_year: bool | None = None) -> str:
    """11月30日 / Nov 30; with the year when it is not this year's."""
    if with_year is None:
        with_year = day.year != _today().year
    return format_skeleton("yMMMd" if with_year else "MMMd", day, locale=get_locale())


def span_text(first: dt.date, last: dt.date) -> str:
    """11月30日–12月6日 / Nov 30 – Dec 6 (years shown when the span leaves this year)."""
    with_year = first.year != last.year or first.year != _today().year
    dash = "–" if get_locale().language == "zh" else " – "
    return f"{day_text(first, with_year)}{dash}{day_text(last, with_year)}"


def month_text(first: dt.date) -> str:
    """2026年11月 / November 2026."""
    return format_skeleton("yMMMM", first, locale=get_locale())


def monday_of(week: str) -> dt.date | None:
    """The Monday of an ISO week ("2026-W49"), or None for what is not one."""
    try:
        year, number = week.split("-W")
        return dt.date.fromisocalendar(int(year), int(number), 1)
    except (AttributeError, ValueError):
        return None


def week_text(week: str | None) -> str:
    """An ISO week as its dates; what is not a week is shown as it is."""
    monday = monday_of(week or "")
    return span_text(monday, monday + dt.timedelta(days=6)) if monday else (week or "")


def init_app(app) -> None:
    app.add_template_filter(week_text, "week_text")
    app.add_template_filter(day_text, "day_text")
