"""What a Store answers with: plain rows, the same from every store.

The wire format (ISO times, which keys a client gets) is built from these in
wire.py, once, so a store only says what it knows. Times are naive UTC.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class ChangeRow:
    """A record as a pull sends it, at its place `seq` in the change sequence."""
    seq: int
    type: str
    id: str
    unit_id: int
    unit: str | None           # the village's code
    version: int
    deleted: bool
    author: str | None         # the username of its creator
    created_at: dt.datetime
    updated_at: dt.datetime
    fields: dict
    conflicts: list
    reached_at: dt.datetime | None = None  # when it last reached its type's milestone, if it has one


@dataclass(frozen=True)
class HistoryRow:
    """One accepted op of a record's history (rejected ops are not history)."""
    op: str
    user: str | None           # the username of who sent it
    device: str | None         # the name of the device it came from; None from a server form
    at: str | None             # when the device says it was made
    received_at: dt.datetime
    status: str
    changes: dict
    conflicts: list
    ack: bool
    error: str | None = None


@dataclass(frozen=True)
class ReviewRow:
    """A comment or reply on a record, with its author."""
    id: str
    author: str | None
    created_at: dt.datetime
    fields: dict
