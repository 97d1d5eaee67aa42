"""The weekly report as CSV and XLSX (the HTML is a template)."""
from __future__ import annotations

import csv
import io
import unicodedata

from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

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


WIDEST = 50  # characters of a column before its text wraps


def _width(value) -> int:
    """How many columns of a spreadsheet a value needs: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in str(value))


def to_xlsx(cells: list[list], title: str, bold_last: bool = False) -> bytes:
    """One sheet: the header bold and frozen (and the last row, a total, when `bold_last`), each column as wide
    as its content, long text wrapped."""
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    for row in cells:
        sheet.append(row)
    for cell in sheet[1] + (sheet[sheet.max_row] if bold_last else ()):
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for number, column in enumerate(zip(*cells), start=1):
        width = min(max(_width(value) for value in column) + 2, WIDEST)
        sheet.column_dimensions[get_column_letter(number)].width = width
        if width == WIDEST:
            for cell in sheet[get_column_letter(number)][1:]:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
