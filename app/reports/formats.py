"""The weekly report as CSV and XLSX (the HTML is a template)."""
from __future__ import annotations

import csv
import io

from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Font

from .figures import METRICS

LABELS = {
    "journals": _l("Journals"),
    "problems_opened": _l("Problems opened"),
    "problems_resolved": _l("Problems resolved"),
    "tasks_done": _l("Tasks done"),
    "tasks_overdue": _l("Tasks overdue"),
    "requests_answered": _l("Requests answered"),
    "requests_unanswered": _l("Requests unanswered over 14 days"),
}


def table(rows, totals, unit_label) -> list[list]:
    header = [str(unit_label), str(_l("Code"))] + [str(LABELS[m]) for m in METRICS]
    body = [[row.unit.name, row.unit.code] + [row.figures[m] for m in METRICS] for row in rows]
    return [header, *body, [str(_l("Total")), ""] + [totals[m] for m in METRICS]]


def to_csv(cells: list[list]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(cells)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM lets Excel read the Chinese


def to_xlsx(cells: list[list], title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    for row in cells:
        sheet.append(row)
    for cell in sheet[1] + sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 16
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
