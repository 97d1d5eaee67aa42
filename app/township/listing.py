"""One pattern for the township's list pages (journals, problems, requests, meetings, the work-item list).

A view builds a `ListPage` — which filters the page offers, the filters in effect, one page of items —
and renders it with `render`. The templates extend `township/_list.html` (heading, filter form, summary,
the unknown-village notice, the empty notice, pagination) and state only their columns, through the
`{% call %}`-based `table` macro of `township/_macros.html`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, NamedTuple

from flask import render_template, request
from flask_login import current_user
from flask_sqlalchemy.pagination import Pagination

from .. import labels, scope
from . import bp, filters, photos, queries, records
from .filters import Filters


class Column(NamedTuple):
    """A column of a list table. `head`: the cell is the row's header (th scope=row); `cls`: its class."""
    key: str
    label: str
    head: bool = False
    cls: str = ""


bp.add_app_template_global(Column, "column")


@dataclass
class Toggle:
    """A page's own yes/no filter (a checkbox kept in the pagination links), e.g. livelihood=1."""
    name: str
    label: str
    checked: bool = False

    @classmethod
    def from_request(cls, name: str, label: str) -> "Toggle":
        return cls(name, label, request.args.get(name) == "1")


@dataclass
class ListPage:
    endpoint: str
    filters: Filters
    pagination: object | None = None            # None when nothing may be shown (unknown village); no rows
    items: list = field(default_factory=list)   # the page's items as the template shows them
    villages: list = field(default_factory=list)          # the village choices; empty: no village filter
    statuses: list[tuple[str, str]] = field(default_factory=list)  # (value, label)
    categories: list[str] = field(default_factory=list)
    date_label: str | None = None               # the date range's legend; None: no date range
    search_placeholder: str | None = None
    toggles: list[Toggle] = field(default_factory=list)
    photos: dict = field(default_factory=dict)  # {record id: its photos (photos.PhotoView)}, one query a page

    @property
    def unknown_village(self) -> bool:
        return self.filters.unknown_village

    @property
    def village(self):
        return self.filters.village

    @property
    def args(self) -> dict:
        return self.filters.args()

    @property
    def total(self) -> int:
        return self.pagination.total if self.pagination is not None else 0


def render(template: str, page: ListPage, **context):
    """The page; an unknown or out-of-scope village is a 404 that shows nothing, so other townships'
    codes leak nothing."""
    html = render_template(template, page=page, **context)
    return (html, 404) if page.unknown_village else html


def records_page(rtype: str, page_of: Callable, *, date_label: str, toggles=()) -> ListPage:
    """A list of one synced record type in the user's villages: `page_of(user, filters)` gives the
    pagination of rows; the items are their masked views (records.RecordView)."""
    villages = scope.villages(current_user)
    f = filters.parse(villages, rtype)
    toggles = list(toggles)
    for toggle in toggles:
        if toggle.checked:
            f.extra[toggle.name] = "1"
    page = ListPage(endpoint=request.endpoint, filters=f, villages=villages,
                    statuses=[(s, labels.status_label(rtype, s)) for s in filters.statuses(rtype)],
                    categories=queries.categories(current_user, rtype) if rtype in filters.CATEGORY_TYPES else [],
                    date_label=date_label, toggles=toggles)
    if not f.unknown_village:
        rows = page_of(current_user, f)
        page.items = records.views(records.request_actor(), rtype, rows.items)
        page.photos = photos.of_records(current_user, rtype, [item.id for item in page.items])
        page.pagination = ViewPagination(rows, page.items)
    return page


class ListPagination(Pagination):
    """Flask-SQLAlchemy's pagination over a list already in memory (the same links and page numbers)."""

    def __init__(self, rows: list, page: int, per_page: int = queries.PER_PAGE):
        self._rows = rows
        super().__init__(page=page, per_page=per_page, max_per_page=None, error_out=False)

    def _query_items(self) -> list:
        return self._rows[self._query_offset:self._query_offset + self.per_page]

    def _query_count(self) -> int:
        return len(self._rows)


class ViewPagination(Pagination):
    """The numbers and links of a page read from the database, holding what the template shows of its
    items (views) instead of the rows: a template never gets a row through `pagination.items`."""

    def __init__(self, rows_page: Pagination, items: list):
        self._items, self._total = list(items), rows_page.total
        super().__init__(page=rows_page.page, per_page=rows_page.per_page, max_per_page=None, error_out=False)

    def _query_items(self) -> list:
        return self._items

    def _query_count(self) -> int:
        return self._total
