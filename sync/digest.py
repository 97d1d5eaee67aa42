"""What the op log keeps of input it refused: bounded, and safe for any column.

A rejected op is logged (so its replay is a duplicate, and a refused decision stays on record), but
not at any size: one rejected 20 MB journal must not cost 20 MB. Beyond the bound only a digest is
kept, which still tells whether a later op carried the same payload.
"""
from __future__ import annotations

import hashlib
import json

MAX_WHOLE = 4096  # bytes of canonical JSON a rejected payload may take in the log as it came
MAX_NAMES = 20
MAX_NAME = 64


def rejected_payload(payload):
    """A rejected op's `set` as the log keeps it: whole when it is a small object without NUL, else its digest."""
    data = canonical_json(payload)
    if isinstance(payload, dict) and len(data) <= MAX_WHOLE and b"\\u0000" not in data:
        return payload
    names = list(payload) if isinstance(payload, dict) else []
    return {"digest": {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
                       "fields": [printable(name, MAX_NAME) for name in names[:MAX_NAMES]],
                       "field_count": len(names)}}


def canonical_json(value) -> bytes:
    """UTF-8, sorted keys, no spaces: the same payload always has the same bytes and digest."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=repr)
    return text.encode("utf-8", "surrogatepass")


def printable(value, limit: int) -> str:
    """Client input as text of at most `limit` characters, control characters escaped (PostgreSQL refuses NUL)."""
    text = value if isinstance(value, str) else repr(value)
    cut = len(text) > limit
    text = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text[:limit])
    return text[:limit - 1] + "…" if cut or len(text) > limit else text
