"""Parsing the sync request envelope and checking each op against its type."""
from __future__ import annotations

import base64
import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass

from .errors import EnvelopeError, OpRejected
from .types import TYPES, RecordType, date_bounds


MAX_INT = 2**31 - 1  # what every database's INTEGER holds
MAX_UNIT_CODE = 32  # units.code
MAX_CURSOR = 2**63  # a sequence number: BIGINT
MAX_CURSOR_CHARS = 131_072  # a string cursor of every county of the country (~2,900) fits with room
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_COUNTY_KEY = re.compile(r"0|[1-9][0-9]{0,18}")

# Where a device stopped: a position in its county's sequence, or one per county ({county id: seq}).
Cursor = int | dict[int, int]


@dataclass
class Op:
    op: str
    type: str
    id: str
    base: int | None
    set: dict
    at: str | None = None
    unit: str | None = None
    ack: bool = False


@dataclass
class Envelope:
    device: str | None
    cursor: Cursor
    limit: int
    ops: list  # of dicts, checked one by one so a bad op rejects alone
    wants_people: bool = False    # the envelope named `people`: the answer carries them when they changed
    people_version: str | None = None  # the version of the people list the device has (None: none)


def is_uuid(value) -> bool:
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _shown(value, limit: int = 40) -> str:
    """Client input quoted in a message: escaped (no NUL reaches a log) and cut short."""
    text = repr(value[:limit + 1] if isinstance(value, str) else value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _names(keys, listed: int = 5) -> str:
    names = sorted(keys, key=str)
    more = f" and {len(names) - listed} more" if len(names) > listed else ""
    return ", ".join(_shown(name) for name in names[:listed]) + more


def parse_envelope(body, *, max_ops: int = 500, default_limit: int = 200, max_limit: int = 1000) -> Envelope:
    if not isinstance(body, dict):
        raise EnvelopeError("bad_envelope", "The request body must be a JSON object.")
    unknown = set(body) - {"device", "cursor", "limit", "ops", "people"}
    if unknown:
        raise EnvelopeError("bad_envelope", f"Unknown keys: {_names(unknown)}.")
    device = body.get("device")
    if device is not None and not is_uuid(device):
        raise EnvelopeError("bad_envelope", "`device` must be the device's UUID.", "device")
    cursor = parse_cursor(body.get("cursor"))
    limit = body.get("limit", default_limit)
    if not _is_int(limit) or not 1 <= limit <= max_limit:
        raise EnvelopeError("bad_envelope", f"`limit` must be an integer from 1 to {max_limit}.", "limit")
    ops = body.get("ops", [])
    if not isinstance(ops, list):
        raise EnvelopeError("bad_envelope", "`ops` must be a list.", "ops")
    if len(ops) > max_ops:
        raise EnvelopeError("too_many_ops", f"At most {max_ops} ops per request; send the rest in another.", "ops")
    for index, op in enumerate(ops):
        if not isinstance(op, dict) or not is_uuid(op.get("op")):
            raise EnvelopeError("bad_envelope", f"ops[{index}] must be an object with a UUID `op`.", "ops")
    people = body.get("people")
    if people is not None and not (isinstance(people, str) and len(people) <= 64):
        raise EnvelopeError("bad_envelope", "`people` must be the version of the people list you have, or null.",
                            "people")
    return Envelope(device=device, cursor=cursor, limit=limit, ops=ops, wants_people="people" in body,
                    people_version=people)


def parse_cursor(value) -> Cursor:
    """null (from the start: 0), a county's position, or the string a scope spanning counties was given."""
    if value is None:
        return 0
    if _is_int(value) and 0 <= value < MAX_CURSOR:
        return value
    positions = _positions_in(value) if isinstance(value, str) else None
    if positions is None:
        raise EnvelopeError("bad_envelope", "`cursor` must be null, a non-negative integer, "
                                            "or the cursor string the server sent, unchanged.", "cursor")
    return positions


def cursor_string(positions: dict[int, int]) -> str:
    """The opaque cursor of a scope spanning counties: base64url of {"county id": seq}."""
    text = json.dumps({str(county): positions[county] for county in sorted(positions)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode("ascii")


def _positions_in(text: str) -> dict[int, int] | None:
    if not 0 < len(text) <= MAX_CURSOR_CHARS or not _BASE64URL.fullmatch(text):
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, RecursionError):  # not base64, not UTF-8, not JSON, nested too deep
        return None
    if not isinstance(decoded, dict):
        return None
    positions = {}
    for county, seq in decoded.items():
        if not _COUNTY_KEY.fullmatch(county) or not _is_int(seq) or not 0 <= seq < MAX_CURSOR:
            return None
        positions[int(county)] = seq
    return positions


def parse_op(raw: dict) -> Op:
    """Check an op's shape (not its fields' values, which need its type)."""
    unknown = set(raw) - {"op", "type", "id", "base", "set", "at", "unit", "ack"}
    if unknown:
        raise OpRejected("bad_op", f"Unknown op keys: {_names(unknown)}.")
    rtype = raw.get("type")
    if not isinstance(rtype, str) or rtype not in TYPES:
        raise OpRejected("unknown_type", f"Unknown record type {_shown(rtype)}.", "type")
    if not is_uuid(raw.get("id")) or raw["id"] != raw["id"].lower():
        raise OpRejected("bad_id", "`id` must be a UUID made on the device, in lower case.", "id")
    base = raw.get("base")
    if base is not None and (not _is_int(base) or not 0 <= base <= MAX_INT):
        raise OpRejected("bad_base", "`base` must be a non-negative integer or null.", "base")
    changes = raw.get("set", {})
    if not isinstance(changes, dict):
        raise OpRejected("bad_op", "`set` must be an object of field values.", "set")
    at = raw.get("at")
    if at is not None and not _is_iso_time(at):
        raise OpRejected("bad_op", "`at` must be an ISO 8601 time.", "at")
    unit = raw.get("unit")
    if unit is not None and (not isinstance(unit, str) or "\x00" in unit or len(unit) > MAX_UNIT_CODE):
        raise OpRejected("bad_op", "`unit` must be a unit code.", "unit")
    ack = raw.get("ack", False)
    if not isinstance(ack, bool):
        raise OpRejected("bad_op", "`ack` must be true or false.", "ack")
    return Op(op=raw["op"], type=rtype, id=raw["id"], base=base, set=changes, at=at, unit=unit, ack=ack)


def _is_iso_week(value) -> bool:
    if not isinstance(value, str) or len(value) != 8 or value[4:6] != "-W":
        return False
    try:
        dt.date.fromisocalendar(int(value[:4]), int(value[6:]), 1)
    except ValueError:
        return False
    return True


def _is_iso_time(value) -> bool:
    if not isinstance(value, str) or "\x00" in value:
        return False
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def clean_fields(rtype: RecordType, changes: dict) -> dict:
    """Return the op's field values, normalised, or raise OpRejected."""
    out = {}
    for name, value in changes.items():
        spec = rtype.fields.get(name)
        if spec is None:
            raise OpRejected("unknown_field", f"{rtype.name} has no field {_shown(name)}.", name)
        out[name] = _clean_value(spec, value)
    return out


def _clean_value(spec, value):
    if value is None:
        if spec.required:
            raise OpRejected("required", f"{spec.name} is required.", spec.name)
        return None
    if spec.kind in ("text", "user"):
        if not isinstance(value, str):
            raise OpRejected("invalid_value", f"{spec.name} must be text.", spec.name)
        value = value.strip()
        if "\x00" in value:
            raise OpRejected("invalid_value", f"{spec.name} contains a NUL character.", spec.name)
        if spec.required and not value:
            raise OpRejected("required", f"{spec.name} is required.", spec.name)
        if len(value) > spec.max_length:
            raise OpRejected("too_long", f"{spec.name} is longer than {spec.max_length} characters.", spec.name)
        if spec.pattern and value and not re.fullmatch(spec.pattern, value):
            raise OpRejected("invalid_value", f"{spec.name} must be {spec.why or spec.pattern}.", spec.name)
        return value
    if spec.kind == "int":
        if not _is_int(value):
            raise OpRejected("invalid_value", f"{spec.name} must be a whole number.", spec.name)
        low = spec.minimum if spec.minimum is not None else -MAX_INT
        high = spec.maximum if spec.maximum is not None else MAX_INT
        if not low <= value <= high:
            code = spec.over if value > high else "out_of_range"
            raise OpRejected(code, f"{spec.name} must be from {low} to {high}.", spec.name)
        return value
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise OpRejected("invalid_value", f"{spec.name} must be true or false.", spec.name)
        return value
    if spec.kind == "date":
        try:
            parsed = dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise OpRejected("invalid_value", f"{spec.name} must be a date, YYYY-MM-DD.", spec.name)
        return _in_bounds(spec, parsed.isoformat())
    if spec.kind == "enum":
        if value not in spec.order:
            raise OpRejected("invalid_value", f"{spec.name} must be one of {', '.join(spec.order)}.", spec.name)
        return value
    if spec.kind == "uuid":
        if not is_uuid(value):
            raise OpRejected("invalid_value", f"{spec.name} must be the UUID of a record.", spec.name)
        return value.lower()
    if spec.kind == "week":
        if not _is_iso_week(value):
            raise OpRejected("invalid_value", f"{spec.name} must be an ISO week, YYYY-Www.", spec.name)
        _in_bounds(spec, dt.date.fromisocalendar(int(value[:4]), int(value[6:]), 7).isoformat(),
                   dt.date.fromisocalendar(int(value[:4]), int(value[6:]), 1).isoformat())
        return value
    raise AssertionError(f"unknown field kind {spec.kind}")


def _in_bounds(spec, last_day: str, first_day: str | None = None) -> str:
    """A date (or a week, from its Monday to its Sunday) must touch the field's window around today."""
    first, last = date_bounds(spec)
    if (first and last_day < first) or (last and (first_day or last_day) > last):
        window = f"from {first or 'any time'} to {last or 'any time'}"
        raise OpRejected("out_of_range", f"{spec.name} must be {window} (today in Asia/Shanghai).", spec.name)
    return last_day
