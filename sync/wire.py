"""The JSON shapes clients read, built in one place from the stores' rows (rows.py).

Every store answers with the same rows, so the phone, the township's pages and
API clients get the same keys whichever store served them.
"""
from __future__ import annotations

import datetime as dt

from .rows import ChangeRow, HistoryRow, ReviewRow
from .types import TYPES


def stamp(moment: dt.datetime | None) -> str | None:
    """A server time (naive UTC) as ISO 8601 with a Z."""
    return moment.isoformat() + "Z" if moment else None


def change(row: ChangeRow) -> dict:
    """A record in a pull's `changes`; problems, requests and tasks also say when they reached their milestone."""
    wire = {"type": row.type, "id": row.id, "version": row.version, "deleted": row.deleted, "unit": row.unit,
            "author": row.author, "conflicts": row.conflicts, "created_at": stamp(row.created_at),
            "updated_at": stamp(row.updated_at), "fields": row.fields}
    if TYPES[row.type].milestone:
        wire["reached_at"] = stamp(row.reached_at)
    return wire


def history_entry(row: HistoryRow) -> dict:
    return {"op": row.op, "user": row.user, "device": row.device, "at": row.at, "received_at": stamp(row.received_at),
            "status": row.status, "changes": row.changes, "conflicts": row.conflicts, "ack": row.ack,
            "error": row.error}


def review(row: ReviewRow) -> dict:
    return {"id": row.id, "author": row.author, "created_at": stamp(row.created_at), **row.fields}
