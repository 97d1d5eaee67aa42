"""Search and filters shared by the township's lists and the review queue.

One parser (`parse`) reads the query string into `Filters`; one function (`apply`) narrows a scoped
select of a record type with them. What each filter means per type is declared in the tables below:
the day a date range looks at, the text columns a search looks in, which types have a status or a
category. A value that cannot be used (a bad date, a village outside the scope) never raises: the list
is shown without that filter and the page says why.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask import request
from flask_babel import gettext as _
from sqlalchemy import and_, or_

from sync.types import SHANGHAI, TYPES

from ..models import SYNCED_MODELS, Unit

LIST_TYPES = ("journal", "problem", "meeting", "request", "task")

# Which day the date range is about: a date column, or the local (Asia/Shanghai) day the record was made.
DATE_FIELD = {"journal": "date", "meeting": "date", "task": "due", "problem": "created_at",
              "request": "created_at"}
# Where the free-text search looks. Residents' names and contacts are left out on purpose: the township
# sees them masked, so searching them would reveal what the mask hides.
TEXT_FIELDS = {"journal": ("text", "places", "reflection"), "problem": ("title", "detail", "resolution"),
               "meeting": ("topic", "place", "minutes"), "request": ("content", "reply"),
               "task": ("title", "detail", "note")}
CATEGORY_TYPES = ("problem", "request")
MAX_TEXT = 100


def has_status(rtype: str | None) -> bool:
    return rtype in TYPES and "status" in TYPES[rtype].fields


def statuses(rtype: str | None) -> list[str]:
    return list(TYPES[rtype].fields["status"].order) if has_status(rtype) else []


@dataclass
class Filters:
    code: str = ""                      # village code as asked
    village: Unit | None = None
    unknown_village: bool = False       # asked for a code that is not one of the user's villages
    status: str = ""
    category: str = ""
    q: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    raw_from: str = ""                  # as typed, to show back in the form
    raw_to: str = ""
    rtype: str = ""                     # the review queue's type filter
    page: int = 1
    errors: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)   # a page's own filters (livelihood=1), kept in its links

    def args(self) -> dict:
        """The filters in effect, for url_for: pagination links keep them; unusable values are dropped."""
        out = {"village": self.code or None, "type": self.rtype or None, "status": self.status or None,
               "category": self.category or None,
               "from": self.date_from.isoformat() if self.date_from else None,
               "to": self.date_to.isoformat() if self.date_to else None,
               "q": self.q or None}
        out.update(self.extra)
        return {k: v for k, v in out.items() if v is not None}

    @property
    def active(self) -> bool:
        return bool(self.code or self.rtype or self.status or self.category or self.q
                    or self.date_from or self.date_to or self.extra)


def _clean(value: str | None, limit: int) -> str:
    """One line of printable text: control characters (NUL, which PostgreSQL refuses) become spaces."""
    text = "".join(ch if ch.isprintable() else " " for ch in (value or ""))
    return " ".join(text.split())[:limit]


MIN_YEAR, MAX_YEAR = 1990, 2100  # outside these a date is a typo, and datetime arithmetic would overflow
MAX_PAGE = 100_000


def _date(raw: str, label: str, errors: list[str]) -> dt.date | None:
    if not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw)
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            raise ValueError(raw)
        return day
    except ValueError:
        errors.append(_("“%(value)s” is not a date (use YYYY-MM-DD), so the list is not filtered by %(which)s.",
                        value=raw[:40], which=label))
        return None


def parse(villages: list[Unit], rtype: str | None = None, types: tuple[str, ...] = ()) -> Filters:
    """The filters of the current request for a list of `rtype` (None: the review queue, which may be
    narrowed to one of `types`)."""
    args = request.args
    f = Filters()
    f.code = (args.get("village") or "").strip()[:32]
    if f.code:
        f.village = next((v for v in villages if v.code == f.code), None)
        f.unknown_village = f.village is None
    if rtype is None:
        wanted = (args.get("type") or "").strip()
        f.rtype = wanted if wanted in types else ""
    kind = rtype or f.rtype or None
    status = (args.get("status") or "").strip()
    f.status = status if status in statuses(kind) else ""
    if kind in CATEGORY_TYPES:
        f.category = _clean(args.get("category"), 50)
    f.q = _clean(args.get("q"), MAX_TEXT)
    f.raw_from, f.raw_to = (args.get("from") or "").strip(), (args.get("to") or "").strip()
    f.date_from = _date(f.raw_from, _("the start date"), f.errors)
    f.date_to = _date(f.raw_to, _("the end date"), f.errors)
    if f.date_from and f.date_to and f.date_from > f.date_to:
        f.errors.append(_("The start date %(start)s is after the end date %(end)s, so the list is not filtered "
                          "by date.", start=f.date_from.isoformat(), end=f.date_to.isoformat()))
        f.date_from = f.date_to = None
    f.page = min(max(args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    return f


def local_day_start(day: dt.date) -> dt.datetime:
    """00:00 of a day in Asia/Shanghai, as naive UTC like the stored times."""
    start = dt.datetime.combine(day, dt.time(), SHANGHAI).astimezone(dt.timezone.utc)
    return start.replace(tzinfo=None)


def conditions(rtype: str, f: Filters, model=None) -> list:
    """WHERE clauses for a select of `rtype` records (the scope is the caller's)."""
    model = model if model is not None else SYNCED_MODELS[rtype]
    out = []
    if f.village is not None:
        out.append(model.unit_id == f.village.id)
    if f.status and has_status(rtype):
        out.append(model.status == f.status)
    if f.category and rtype in CATEGORY_TYPES:
        out.append(model.category == f.category)
    if f.q:
        words = f.q.split(" ")[:5]
        # Every word somewhere in the record's text fields (LIKE, wildcards in the words escaped).
        out.append(and_(*[or_(*[getattr(model, name).icontains(word, autoescape=True)
                                for name in TEXT_FIELDS[rtype]]) for word in words]))
    name = DATE_FIELD[rtype]
    column = getattr(model, name)
    if name == "created_at":
        if f.date_from:
            out.append(column >= local_day_start(f.date_from))
        if f.date_to:
            out.append(column < local_day_start(f.date_to + dt.timedelta(days=1)))
    else:
        if f.date_from:
            out.append(column >= f.date_from)
        if f.date_to:
            out.append(column <= f.date_to)
    return out


def apply(query, rtype: str, f: Filters, model=None):
    return query.where(*conditions(rtype, f, model))


def parse_plain(statuses: tuple[str, ...] = ()) -> Filters:
    """The filters of a list that is not of villages' records (the county's work-item list): a search,
    a status among `statuses`, the page."""
    args = request.args
    f = Filters()
    status = (args.get("status") or "").strip()
    f.status = status if status in statuses else ""
    f.q = _clean(args.get("q"), MAX_TEXT)
    f.page = min(max(args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    return f
