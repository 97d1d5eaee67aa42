"""The import's error messages (app/worklist/parse.py writes them in English, for the CLI) in the page's
language. A message this table does not know is shown as it is."""
from __future__ import annotations

import re

from flask_babel import gettext as _

_PATTERNS = [
    (re.compile(r"^This cell must not be empty\.$"), lambda m: _("This cell must not be empty.")),
    (re.compile(r"^At most (\d+) characters \((\d+) here\)\.$"),
     lambda m: _("At most %(limit)s characters (%(count)s here).", limit=m[1], count=m[2])),
    (re.compile(r"^A code is letters, digits"),
     lambda m: _("A code is letters, digits, “-”, “.” or “_”, with no spaces.")),
    (re.compile(r"^A number of hours from 0 to (\d+)\.$"),
     lambda m: _("A number of hours from 0 to %(max)s.", max=m[1])),
    (re.compile(r"^One of active, retired, cancelled"),
     lambda m: _("One of 有效, 已退出, 已取消 (or active, retired, cancelled).")),
    (re.compile(r"^Code (.+) is already on row (\d+)\.$"),
     lambda m: _("Code %(code)s is already on row %(row)s.", code=m[1], row=m[2])),
    (re.compile(r"^The file is neither UTF-8 nor GBK text\.$"),
     lambda m: _("The file is neither UTF-8 nor GBK text.")),
    (re.compile(r"^The file is not a CSV text file\.$"), lambda m: _("The file is not a CSV text file.")),
    (re.compile(r"^The file is not an XLSX workbook"), lambda m: _("The file is not an XLSX workbook.")),
    (re.compile(r"^The file is empty\.$"), lambda m: _("The file is empty.")),
    (re.compile(r"^The file lists no items\.$"), lambda m: _("The file lists no items.")),
    (re.compile(r"^The first row must name the columns.*missing: (.+)\.$"),
     lambda m: _("The first row must name the columns (编码, 事项名称, 依据, 责任部门, 预计工时, 状态, or code, "
                 "name, basis, department, effort_hours, status); missing: %(missing)s.", missing=m[1])),
    (re.compile(r"^At most (\d+) items in one list\.$"),
     lambda m: _("At most %(max)s items in one list.", max=m[1])),
]


def translated(message: str) -> str:
    for pattern, make in _PATTERNS:
        match = pattern.match(message or "")
        if match:
            return make(match)
    return message
