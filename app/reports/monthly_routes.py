"""The month's 驻村纪实 as a page that prints on A4, DOCX and XLSX; and the county's figures as JSON and CSV.

A village's secretary and cadres see their own village; township and county users the villages in their area.
An unknown village code and one outside the area get the same 404, so codes leak nothing.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict
from urllib.parse import quote

from flask import Blueprint, Response, abort, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from .. import scope
from ..api import tokens
from ..api.errors import ApiError, error_response
from ..extensions import login_manager
from ..township import records
from . import monthly_docx
from .monthly import FIGURES, Month, Village, month_figures, monthly_record

bp = Blueprint("monthly", __name__)
FORMATS = ("html", "docx", "xlsx")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The words the page shares with the DOCX and XLSX, so the three say the same.
PAGE_HELPERS = ("days_text", "journal_heading", "journal_facts", "done_sections", "done_title", "about_text",
                "comment_text")


@bp.errorhandler(ApiError)
def api_error(error: ApiError):
    return error_response(error.status, error.code, error.message, error.field)


def _month() -> Month:
    text = request.args.get("month")
    try:
        return Month.parse(text)
    except ValueError:
        abort(400, _("“%(month)s” is not a month: write it like 2026-11 (the year, a dash, the month in two "
                     "digits).", month=(text or "")[:20]))


def _village(villages):
    """The asked-for village among the user's, or a field user's own; None when a township user named none."""
    code = request.args.get("village")
    if code is None and current_user.is_field:
        code = current_user.unit.code
    if code is None:
        return None
    if not code.strip() or len(code) > 32:
        abort(400, _("Name the village by its code, like village=%(code)s.",
                     code=villages[0].code if villages else "CODE"))
    found = next((v for v in villages if v.code == code), None)
    if found is None:
        abort(404, _("There is no village “%(code)s” in your area.", code=code[:32]))
    return found


def attachment(body: bytes, mimetype: str, name: str, fallback: str) -> Response:
    """A download whose Chinese name survives (RFC 5987), with an ASCII name for older clients."""
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", fallback)
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": disposition})


@bp.get("/reports/monthly")
def monthly():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    fmt = request.args.get("format", "html")
    if fmt not in FORMATS:
        abort(400, _("The monthly record comes as HTML, DOCX or XLSX (format=html, docx or xlsx)."))
    month, villages = _month(), scope.villages(current_user)
    village = _village(villages)
    if village is None:
        return _page(month, None, villages)
    record = monthly_record(records.request_actor(), village, month)
    name, fallback = f"驻村纪实-{village.name}-{month.label}", f"zhucun-monthly-{village.code}-{month.label}"
    if fmt == "docx":
        return attachment(monthly_docx.docx(record), DOCX, f"{name}.docx", f"{fallback}.docx")
    if fmt == "xlsx":
        return attachment(monthly_docx.xlsx(record), XLSX, f"{name}.xlsx", f"{fallback}.xlsx")
    return _page(month, record, villages)


def _page(month: Month, record, villages):
    helpers = {name: getattr(monthly_docx, name) for name in PAGE_HELPERS}
    return render_template("reports/monthly.html", month=month, this_month=Month.parse(None), record=record,
                           villages=[Village.of(v) for v in villages],
                           figures=FIGURES, labels=monthly_docx.LABELS, **helpers)


def county_rows(villages, month: Month) -> list[dict]:
    """One row per village, ordered by code: never by a figure, so nothing reads as a ranking."""
    figures = month_figures([v.id for v in villages], month)
    return [asdict(Village.of(v)) | figures[v.id] for v in sorted(villages, key=lambda v: v.code)]


@bp.get("/api/reports/monthly")
def county_figures():
    """The monthly figures of the caller's villages, for the county's own platform (docs/reports.md)."""
    user = tokens.authenticate_user()
    try:
        month = Month.parse(request.args.get("month"))
    except ValueError:
        raise ApiError(400, "bad_month", "`month` must look like 2026-11.", "month") from None
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ApiError(400, "bad_format", "`format` is json or csv.", "format")
    rows = county_rows(scope.villages(user), month)
    if fmt == "json":
        return jsonify({"month": month.label, "villages": rows})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["month", "code", "name", "township", *FIGURES])
    writer.writeheader()
    writer.writerows({"month": month.label, **row} for row in rows)
    body = ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM lets Excel read the Chinese
    return attachment(body, "text/csv", f"zhucun-monthly-{month.label}.csv", f"zhucun-monthly-{month.label}.csv")
