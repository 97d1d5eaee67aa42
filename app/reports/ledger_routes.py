"""`/reports/ledger/<problem|request|task>`: a ledger (台账) as XLSX or CSV, for every user of its villages."""
from __future__ import annotations

import datetime as dt
import re

from flask import Blueprint, abort, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import scope
from ..township import records
from . import formats, ledgers
from .monthly_routes import attachment

bp = Blueprint("ledgers", __name__, url_prefix="/reports")

MIMETYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "csv": "text/csv"}
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(name: str) -> dt.date | None:
    raw = request.args.get(name, "")
    if not raw:
        return None
    try:
        if not DATE.fullmatch(raw):  # fromisoformat would also take 20261130 or 2026-W48-1
            raise ValueError(raw)
        return dt.date.fromisoformat(raw)
    except ValueError:
        abort(400, _("“%(value)s” is not a date: write it like 2026-11-30 (year-month-day).", value=raw[:20]))


def _villages():
    """The villages asked for: one by its code, or all of the user's. An unknown code and one outside the
    user's area get the same answer, so codes leak nothing."""
    villages = scope.villages(current_user)
    code = request.args.get("village")
    if code:
        villages = [v for v in villages if v.code == code]
        if not villages:
            abort(404, _("There is no village “%(code)s” in your area.", code=code[:32]))
    return villages


def _names(kind: str, place, first, last, fmt: str) -> tuple[str, str]:
    """`问题台账-东坡村-2026-11-01_2026-11-30.xlsx`, and an ASCII name for clients that cannot read it."""
    dates = f"-{first or ''}_{last or ''}" if first or last else ""
    fallback = re.sub(r"[^A-Za-z0-9_.-]", "", f"{kind}-ledger-{place.code}{dates}.{fmt}")
    return f"{ledgers.title(kind)}-{place.name}{dates}.{fmt}", fallback


@bp.get("/ledger/<kind>")
@login_required
def ledger(kind: str):
    if kind not in ledgers.KINDS:
        abort(404)
    first, last = _date("from"), _date("to")
    if first and last and first > last:
        abort(400, _("The start date %(first)s is after the end date %(last)s.", first=first, last=last))
    fmt = request.args.get("format", "xlsx")
    if fmt not in MIMETYPES:
        abort(400, _("A ledger comes as XLSX or CSV (format=xlsx or format=csv)."))
    villages = _villages()
    cells = ledgers.ledger(records.request_actor(), kind, [v.id for v in villages], first, last)
    place = villages[0] if len(villages) == 1 else current_user.unit
    body = formats.to_xlsx(cells, ledgers.title(kind)) if fmt == "xlsx" else formats.to_csv(cells)
    return attachment(body, MIMETYPES[fmt], *_names(kind, place, first, last, fmt))
