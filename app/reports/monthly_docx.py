"""The month's 驻村纪实 as the files county offices pass around: DOCX (python-docx) and XLSX (openpyxl).

Both are made from the same MonthlyRecord as the page, so residents' names come already masked for a viewer
outside the village.
"""
from __future__ import annotations

import datetime as dt
import io

from docx import Document
from docx.oxml.ns import qn
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from ..dates import day_text
from ..names import person
from .formats import LABELS as WEEKLY_LABELS
from .monthly import FIGURES, MonthlyRecord

LABELS = {"days_in_village": _l("Days in the village"), "journals": WEEKLY_LABELS["journals"],
          "visits": _l("Households visited"), "problems_resolved": WEEKLY_LABELS["problems_resolved"],
          "requests_answered": WEEKLY_LABELS["requests_answered"], "tasks_done": WEEKLY_LABELS["tasks_done"]}


def days_text(days: int) -> str:
    """「驻村天数：N 天」: counted from the dates with a journal, never from a check-in."""
    return ngettext("Days in the village: %(num)d day", "Days in the village: %(num)d days", days)


def title(record: MonthlyRecord) -> str:
    return _("Monthly record of the residency — %(village)s, %(month)s",
             village=record.village.name, month=record.month.text)


def journal_heading(view) -> str:
    return f"{day_text(_date(view), with_year=True)} · {person(view.author)}"


def journal_facts(view) -> str:
    facts = []
    if view.fields.get("visits") is not None:
        facts.append(_("Households visited: %(num)d", num=view.fields["visits"]))
    if view.fields.get("places"):
        facts.append(_("Places: %(places)s", places=view.fields["places"]))
    return " · ".join(facts)


def _date(view) -> dt.date:
    return dt.date.fromisoformat(view.fields["date"])


def done_sections(record: MonthlyRecord):
    """(heading, items) for the problems resolved, requests answered and tasks done."""
    return [(WEEKLY_LABELS["problems_resolved"], record.problems),
            (WEEKLY_LABELS["requests_answered"], record.requests),
            (WEEKLY_LABELS["tasks_done"], record.tasks)]


def about_text(comment) -> str:
    return _("%(kind)s: %(title)s", kind=comment.kind, title=comment.title)


def comment_text(entry) -> str:
    """Who said what: 陈明（需跟进）：请补充走访情况 (the time is shown beside it)."""
    if entry.decision:
        return _("%(who)s (%(decision)s): %(comment)s", who=person(entry.author), decision=entry.decision_label,
                 comment=entry.comment)
    return _("%(who)s: %(comment)s", who=person(entry.author), comment=entry.comment)


def done_title(item) -> str:
    """A problem's or task's title; a request's content with its resident (masked outside the village)."""
    return _("%(title)s (%(resident)s)", title=item.title, resident=item.resident) if item.resident else item.title


# ---------------------------------------------------------------- DOCX

def docx(record: MonthlyRecord) -> bytes:
    document = Document()
    normal = document.styles["Normal"]
    normal.font.name = "SimSun"
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")  # Word needs the East Asian font named too
    document.add_heading(title(record), level=0)
    document.add_paragraph(f"{record.village.township} · {record.village.name} · {_('Times are Beijing time.')}")
    document.add_paragraph(days_text(record.figures["days_in_village"])).runs[0].bold = True
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for name in FIGURES:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = str(LABELS[name]), str(record.figures[name])
    if record.empty:
        document.add_paragraph(_("Nothing was recorded this month."))
    else:
        _docx_body(document, record)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _docx_body(document, record: MonthlyRecord) -> None:
    document.add_heading(str(WEEKLY_LABELS["journals"]), level=1)
    for view in record.journals:
        document.add_heading(journal_heading(view), level=2)
        for text in (journal_facts(view), view.fields.get("text"), view.fields.get("reflection")):
            if text:
                document.add_paragraph(text)
    for heading, items in done_sections(record):
        document.add_heading(str(heading), level=1)
        if not items:
            document.add_paragraph(_("None this month."))
        for item in items:
            document.add_paragraph(done_title(item), style="List Bullet")
            document.add_paragraph(f"{item.at} {item.outcome}")
    document.add_heading(_("Township comments"), level=1)
    if not record.comments:
        document.add_paragraph(_("None this month."))
    for comment in record.comments:
        document.add_paragraph(about_text(comment), style="List Bullet")
        document.add_paragraph(f"{comment.thread.at} {comment_text(comment.thread)}")
        for reply in comment.thread.replies:
            document.add_paragraph(f"{reply.at} {comment_text(reply)}", style="List Bullet 2")


# ---------------------------------------------------------------- XLSX

def xlsx(record: MonthlyRecord) -> bytes:
    book = Workbook()
    summary = book.active
    summary.title = _("Summary")[:31]
    _rows(summary, [[title(record)], [record.village.township, record.village.name, record.village.code],
                    [days_text(record.figures["days_in_village"])], []]
          + [[str(LABELS[name]), record.figures[name]] for name in FIGURES]
          + ([[], [_("Nothing was recorded this month.")]] if record.empty else []))
    at = _("Time (Beijing time)")
    _sheet(book, str(WEEKLY_LABELS["journals"]),
           [_("Date"), _("Written by"), str(LABELS["visits"]), _("Places"), _("Journal"), _("Reflection")],
           [[v.fields["date"], person(v.author), v.fields.get("visits"), v.fields.get("places") or "",
             v.fields.get("text") or "", v.fields.get("reflection") or ""] for v in record.journals])
    _sheet(book, str(WEEKLY_LABELS["problems_resolved"]), [at, _("Problem"), _("Resolution")],
           [[i.at, i.title, i.outcome] for i in record.problems])
    _sheet(book, str(WEEKLY_LABELS["requests_answered"]), [at, _("Request"), _("Resident"), _("Reply")],
           [[i.at, i.title, i.resident, i.outcome] for i in record.requests])
    _sheet(book, str(WEEKLY_LABELS["tasks_done"]), [at, _("Task"), _("Note")],
           [[i.at, i.title, i.outcome] for i in record.tasks])
    _sheet(book, _("Township comments"), [at, _("About"), _("Written by"), _("Comment")],
           [[e.at, about_text(c), person(e.author), e.comment] for c in record.comments
            for e in (c.thread, *c.thread.replies)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(book, name: str, header: list, body: list[list]) -> None:
    sheet = book.create_sheet(name[:31])
    _rows(sheet, [header, *body])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for column in "ABCDEF":
        sheet.column_dimensions[column].width = 18
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def _rows(sheet, rows: list[list]) -> None:
    for row in rows:
        sheet.append(row)
