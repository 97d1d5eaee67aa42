"""Weekly report (HTML, CSV, XLSX), charts (SVG), the SQLite export and the zip with the photos. Views stay thin."""
from __future__ import annotations

from flask import Response, abort, render_template, request, send_file
from flask_babel import gettext as _
from flask_login import current_user

from .. import scope
from ..dates import day_text
from ..township import records
from ..township.routes import township_required
from . import bp, charts, formats, ledgers
from .export import export_sqlite, export_zip
from .figures import METRICS, Week, report, village_figures
from .summary import weekly_summary

CHART_WEEKS = 8
FORMATS = ("html", "csv", "xlsx")


def _week() -> Week:
    try:
        return Week.parse(request.args.get("week"))
    except ValueError:
        abort(400, _("“%(week)s” is not a week: write it like 2026-W48 (the year, W, the week's number).",
                     week=request.args.get("week", "")[:20]))


def _villages():
    """The user's villages, narrowed to one township when asked (for a county's admin). An unknown code and
    one outside the user's area get the same answer, so codes leak nothing."""
    villages = scope.villages(current_user)
    code = request.args.get("township")
    if code:
        villages = [v for v in villages if v.parent.code == code]
        if not villages:
            abort(404, _("There is no township “%(code)s” in your area.", code=code[:32]))
    return villages


@bp.get("/reports/weekly")
@township_required
def weekly():
    week, villages = _week(), _villages()
    townships = {v.parent_id for v in villages}
    by = request.args.get("by") or ("township" if len(townships) > 1 else "village")
    if by not in ("village", "township"):
        abort(400, _("A report is by village or by township (by=village or by=township)."))
    fmt = request.args.get("format", "html")
    if fmt not in FORMATS:
        abort(400, _("A report comes as HTML, CSV or XLSX (format=html, csv or xlsx)."))
    rows, totals = report(villages, week, by)
    unit_label = _("Village") if by == "village" else _("Township")
    name = f"zhucun-{week.label}-{by}"
    if fmt == "csv":
        return Response(formats.to_csv(formats.table(rows, totals, unit_label)), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename={name}.csv"})
    if fmt == "xlsx":
        body = formats.to_xlsx(formats.table(rows, totals, unit_label), week.label, bold_last=True)
        return Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f"attachment; filename={name}.xlsx"})
    return render_template("reports/weekly.html", week=week, rows=rows, totals=totals, by=by,
                           metrics=METRICS, labels=formats.LABELS, unit_label=unit_label,
                           township=request.args.get("township"), summary=weekly_summary(villages, week),
                           ledger_title=ledgers.title)


def _series(villages, end: Week):
    weeks = [end.shifted(-n) for n in range(CHART_WEEKS - 1, -1, -1)]
    return weeks, [village_figures([v.id for v in villages], week) for week in weeks]


def _svg(body: bytes) -> Response:
    return Response(body, mimetype="image/svg+xml", headers={"Cache-Control": "private, max-age=300"})


@bp.get("/charts/activity.svg")
@township_required
def activity_chart():
    villages = _villages()
    weeks, figures = _series(villages, _week())
    series = {v.name: [f[v.id]["journals"] for f in figures] for v in villages}
    return _svg(charts.activity([day_text(w.monday) for w in weeks], series, _("Journals per week")))


@bp.get("/charts/problems.svg")
@township_required
def problems_chart():
    villages = _villages()
    weeks, figures = _series(villages, _week())
    opened = [sum(f[v.id]["problems_opened"] for v in villages) for f in figures]
    resolved = [sum(f[v.id]["problems_resolved"] for v in villages) for f in figures]
    return _svg(charts.opened_vs_resolved([day_text(w.monday) for w in weeks], opened, resolved,
                                          _("Problems opened and resolved"), _("Opened"), _("Resolved")))


@bp.get("/export.sqlite")
@township_required
def export():
    body = export_sqlite(records.request_actor())
    return Response(body, mimetype="application/vnd.sqlite3",
                    headers={"Content-Disposition": "attachment; filename=zhucun-export.sqlite"})


@bp.get("/export.zip")
@township_required
def export_with_photos():
    archive = export_zip(records.request_actor())
    response = send_file(archive, mimetype="application/zip", as_attachment=True,
                         download_name="zhucun-export.zip", max_age=0)
    response.headers["Cache-Control"] = "no-store"  # residents' photos: never kept by a shared PC
    return response
