"""The synced record types, their fields and who may write them.

Each field declares how it is checked and how it merges: `merge="last"` means
the later arrival wins a conflict; `order=(...)` means the value can only move
forward along that order, so a stale offline edit cannot undo a later state.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

FIELD_ROLES = frozenset({"secretary", "cadre"})
TOWNSHIP_ROLES = frozenset({"township_staff", "township_approver"})


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # text | date | int | bool | enum (values in `order`)
    required: bool = False
    max_length: int = 20000
    minimum: int | None = None
    order: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordType:
    name: str
    fields: dict[str, Field]
    writers: frozenset[str]
    defaults: dict = field(default_factory=dict)


def _fields(*items: Field) -> dict[str, Field]:
    return {f.name: f for f in items}


JOURNAL = RecordType(
    name="journal",
    fields=_fields(
        Field("date", "date"),
        Field("text", "text", required=True),
        Field("visits", "int", minimum=0),
        Field("places", "text", max_length=2000),
        Field("reflection", "text"),
    ),
    writers=FIELD_ROLES,
    defaults={"date": "today"},
)

TYPES: dict[str, RecordType] = {t.name: t for t in (JOURNAL,)}


def shanghai_today(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.timezone.utc)
    return now.astimezone(SHANGHAI).date().isoformat()
