"""Reading a work-item list from CSV or XLSX: every row checked, every error named by row and column.

Messages are lazy: the page shows them in the reader's language, the CLI (see cli.py) in English."""
from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from openpyxl import load_workbook

COLUMNS = ("code", "name", "basis", "department", "effort_hours", "status")
CHINESE = {"编码": "code", "事项编码": "code", "过筛编码": "code", "事项名称": "name", "名称": "name",
           "依据": "basis", "法律依据": "basis", "政策依据": "basis", "责任部门": "department", "部门": "department",
           "预计工时": "effort_hours", "工时": "effort_hours", "状态": "status"}
STATUS_WORDS = {"": "active", "active": "active", "retired": "retired", "cancelled": "cancelled",
                "canceled": "cancelled", "有效": "active", "在用": "active", "保留": "active", "启用": "active",
                "退出": "retired", "已退出": "retired", "停用": "retired", "废止": "retired",
                "取消": "cancelled", "已取消": "cancelled", "取消清单": "cancelled"}
LIMITS = {"code": 32, "name": 200, "basis": 2000, "department": 100}
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")
MAX_ROWS = 5000
MAX_HOURS = 1000


@dataclass
class RowError:
    row: int        # as the spreadsheet numbers it: the header is row 1
    column: str     # the header as written in the file
    message: str    # lazy: rendered in the reader's language


@dataclass
class Parsed:
    items: list[dict] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


class UnreadableFile(ValueError):
    """The file is not a CSV or XLSX list at all (the message says why)."""


def read(filename: str, data: bytes) -> Parsed:
    rows = _xlsx_rows(data) if filename.lower().endswith((".xlsx", ".xlsm")) else _csv_rows(data)
    return check(rows)


def _csv_rows(data: bytes) -> list[list]:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel and WPS in China often save CSV as GBK
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnreadableFile(_l("The file is neither UTF-8 nor GBK text."))
    if "\x00" in text:
        raise UnreadableFile(_l("The file is not a CSV text file."))
    return list(csv.reader(io.StringIO(text)))


def _xlsx_rows(data: bytes) -> list[list]:
    try:
        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True, max_row=MAX_ROWS + 2)]
    except Exception as error:  # openpyxl raises many kinds for a file that is not a workbook
        raise UnreadableFile(_l("The file is not an XLSX workbook.")) from None


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def check(rows: list[list]) -> Parsed:
    rows = [row for row in rows if any(_cell(v) for v in row)] and rows
    if not rows:
        raise UnreadableFile(_l("The file is empty."))
    header = [_cell(v) for v in rows[0]]
    names = {}
    for index, title in enumerate(header):
        key = CHINESE.get(title, title.lower())
        if key in COLUMNS:
            names[key] = index
    missing = [c for c in ("code", "name") if c not in names]
    if missing:
        raise UnreadableFile(_l("The first row must name the columns (编码, 事项名称, 依据, 责任部门, 预计工时, 状态, "
                                "or code, name, basis, department, effort_hours, status); missing: %(missing)s.",
                                missing=", ".join(missing)))
    if len(rows) - 1 > MAX_ROWS:
        raise UnreadableFile(_l("At most %(max)s items in one list.", max=MAX_ROWS))
    out = Parsed()
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        values = {key: _cell(row[i]) if i < len(row) else "" for key, i in names.items()}
        if not any(values.values()):
            continue
        item, errors = _check_row(values, number, {k: header[i] for k, i in names.items()})
        if item and item["code"] in seen:
            errors.append(RowError(number, header[names["code"]],
                                   _l("Code %(code)s is already on row %(row)s.", code=item["code"],
                                      row=seen[item["code"]])))
        if errors:
            out.errors += errors
        else:
            seen[item["code"]] = number
            out.items.append(item)
    if not out.items and not out.errors:  # imported, it would retire the whole list
        raise UnreadableFile(_l("The file lists no items."))
    return out


def _check_row(values: dict, number: int, headers: dict) -> tuple[dict | None, list[RowError]]:
    errors = []
    def fail(key, message):
        errors.append(RowError(number, headers.get(key, key), message))

    for key in ("code", "name"):
        if not values.get(key):
            fail(key, _l("This cell must not be empty."))
    for key, limit in LIMITS.items():
        if len(values.get(key, "")) > limit:
            fail(key, _l("At most %(limit)s characters (%(count)s here).", limit=limit, count=len(values[key])))
    if values.get("code") and not CODE.match(values["code"]):
        fail("code", _l("A code is letters, digits, “-”, “.” or “_”, with no spaces."))
    hours = None
    if values.get("effort_hours"):
        try:
            hours = float(values["effort_hours"])
        except ValueError:
            hours = math.nan
        if not (math.isfinite(hours) and 0 <= hours <= MAX_HOURS):
            fail("effort_hours", _l("A number of hours from 0 to %(max)s.", max=MAX_HOURS))
    status = STATUS_WORDS.get(values.get("status", "").lower())
    if status is None:
        fail("status", _l("One of 有效, 已退出, 已取消 (or active, retired, cancelled)."))
    if errors:
        return None, errors
    return {"code": values["code"], "name": values["name"], "basis": values.get("basis", ""),
            "department": values.get("department", ""), "effort_hours": hours, "status": status}, []
