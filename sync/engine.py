"""Applying a request's ops and pulling changes, against any Store.

One function applies every write, whether it comes from a phone's outbox, a
township form or an import: validate, authorise, merge, record.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .envelope import Op, clean_fields, parse_op
from .errors import OpRejected
from .merge import Current, Merge, merge
from .types import TYPES, shanghai_today


@dataclass(frozen=True)
class Actor:
    user_id: int
    role: str
    home_unit_id: int          # the user's own unit (a village for field roles)
    village_ids: frozenset     # the villages in the user's scope
    device_id: str | None = None


@dataclass
class Logged:
    status: str
    version: int | None
    error: dict | None


class Store(Protocol):
    def begin_writes(self, ops: list[dict]) -> None: ...
    def end_writes(self) -> None: ...
    def find_op(self, op_id: str) -> Logged | None: ...
    def load(self, rtype: str, record_id: str) -> Current | None: ...
    def unit_id_for_code(self, code: str) -> int | None: ...
    def write(self, rtype: str, record_id: str, unit_id: int, result: Merge, actor: Actor, created: bool) -> None: ...
    def log(self, op: Op | dict, actor: Actor, unit_id: int | None, result: dict, conflicts: list) -> None: ...
    def current_seq(self) -> int: ...
    def changes(self, village_ids: frozenset, after: int, upto: int, limit: int) -> list[dict]: ...


def apply_ops(store: Store, actor: Actor, ops: list[dict]) -> list[dict]:
    """Apply ops in order; each gets a result. The caller commits once for all."""
    if not ops:
        return []
    store.begin_writes(ops)
    results = [_apply_one(store, actor, raw) for raw in ops]
    store.end_writes()
    return results


def _apply_one(store: Store, actor: Actor, raw: dict) -> dict:
    logged = store.find_op(raw["op"])
    if logged is not None:
        return _duplicate(raw["op"], logged)
    unit_id = None
    try:
        op = parse_op(raw)
        current = store.load(op.type, op.id)
        unit_id = _authorise(store, actor, op, current)
        changes = _checked_changes(op, current)
        result = merge(TYPES[op.type], current, op.base, changes, op.op)
    except OpRejected as rejected:
        outcome = {"op": raw["op"], "status": "rejected", "error": rejected.as_dict()}
        store.log(raw, actor, unit_id, outcome, [])
        return outcome
    if result.changed:
        store.write(op.type, op.id, unit_id, result, actor, created=current is None)
    outcome = {"op": op.op, "status": result.status, "version": result.version}
    if result.conflicts:
        outcome["conflicts"] = result.conflicts
    store.log(op, actor, unit_id, outcome, result.conflicts)
    return outcome


def _duplicate(op_id: str, logged: Logged) -> dict:
    outcome = {"op": op_id, "status": "duplicate", "outcome": logged.status}
    if logged.version is not None:
        outcome["version"] = logged.version
    if logged.error:
        outcome["error"] = logged.error
    return outcome


def _authorise(store: Store, actor: Actor, op: Op, current: Current | None) -> int:
    """Return the village the op writes to, or reject it."""
    if actor.role not in TYPES[op.type].writers:
        raise OpRejected("forbidden", f"The role {actor.role} may not write {op.type} records.")
    if current is not None:
        unit_id = current.unit_id
    elif op.unit is not None:
        unit_id = store.unit_id_for_code(op.unit)
        if unit_id is None:
            raise OpRejected("unknown_unit", f"No unit has the code {op.unit!r}.", "unit")
    elif actor.home_unit_id in actor.village_ids:
        unit_id = actor.home_unit_id
    else:
        raise OpRejected("unit_required", "Name the village (`unit`) this record belongs to.", "unit")
    if unit_id not in actor.village_ids:
        raise OpRejected("out_of_scope", "This record's village is outside your scope.", "unit")
    return unit_id


def _checked_changes(op: Op, current: Current | None) -> dict:
    rtype = TYPES[op.type]
    changes = clean_fields(rtype, op.set)
    if current is None:
        if op.base is not None:
            raise OpRejected("not_found", "No such record on the server to edit.", "id")
        for name, default in rtype.defaults.items():
            if changes.get(name) is None:
                changes[name] = shanghai_today() if default == "today" else default
        for name, spec in rtype.fields.items():
            if spec.required and changes.get(name) in (None, ""):
                raise OpRejected("required", f"{name} is required.", name)
    elif op.base is not None and op.base > current.version:
        raise OpRejected("bad_base", f"base {op.base} is newer than the server's version {current.version}.", "base")
    return changes


def pull(store: Store, actor: Actor, cursor: int, limit: int) -> dict:
    """The records in the actor's scope changed after `cursor`, oldest first.

    The counter is read first: every number up to it belongs to a committed
    write, so nothing below the returned cursor can still appear later.
    """
    upto = store.current_seq()
    rows = store.changes(actor.village_ids, cursor, upto, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = rows[-1]["seq"] if more else max(upto, cursor)
    for row in rows:
        row.pop("seq")
    return {"changes": rows, "cursor": next_cursor, "more": more}
