"""Applying a request's ops and pulling changes, against any Store.

One function applies every write, whether it comes from a phone's outbox, a
township form or an import: validate, authorise, merge, record.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Protocol

from . import gate, wire
from .envelope import Cursor, Op, clean_fields, cursor_string, parse_op
from .errors import OpRejected
from .mask import for_village, mask_record
from .merge import Current, Merge, further, merge, stale_fields
from .rows import ChangeRow, HistoryRow, ReviewRow
from .types import FIELD_ROLES, TYPES, RecordType, shanghai_today, this_week


@dataclass(frozen=True)
class Actor:
    user_id: int
    role: str
    home_unit_id: int          # the user's own unit (a village for field roles)
    village_ids: frozenset     # the villages in the user's scope
    device_id: str | None = None
    username: str = ""

    def sees_personal_data_of(self, unit_id: int) -> bool:
        """Residents' personal data is shown in full only to the village's own users."""
        return self.role in FIELD_ROLES and self.home_unit_id == unit_id


@dataclass
class Logged:
    status: str
    version: int | None
    error: dict | None


class Store(Protocol):
    """What the engine needs of storage. Reads answer with the plain rows of rows.py; wire.py shapes them."""
    def begin_writes(self, ops: list[dict], actor: Actor) -> None: ...
    def end_writes(self) -> None: ...
    def find_op(self, op_id: str) -> Logged | None: ...
    def load(self, rtype: str, record_id: str) -> Current | None: ...
    def unit_id_for_code(self, code: str) -> int | None: ...
    def user_in_unit(self, username: str, unit_id: int) -> bool: ...
    def write(self, rtype: str, record_id: str, unit_id: int, result: Merge, actor: Actor, created: bool) -> None: ...
    def log(self, op: Op | dict, actor: Actor, unit_id: int | None, result: dict, conflicts: list) -> None: ...
    def counties(self, village_ids: frozenset) -> dict[int, frozenset]: ...
    def current_seq(self, county: int | None = None) -> int: ...
    def changes(self, county: int, village_ids: frozenset, after: int, upto: int, limit: int,
                village_view: bool = False) -> list[ChangeRow]: ...
    def work_item(self, unit_id: int, code: str) -> dict | None: ...
    def duplicate_task(self, unit_id: int, task_id: str, item_code: str | None, title_key: str,
                       window_days: int) -> str | None: ...
    def history(self, rtype: str, record_id: str) -> list[HistoryRow]: ...
    def reviews_of(self, rtype: str, record_id: str, unit_id: int) -> list[ReviewRow]: ...


def apply_ops(store: Store, actor: Actor, ops: list[dict], echoes: dict | None = None) -> list[dict]:
    """Apply ops in order; each gets a result. The caller commits once for all.

    `echoes`, when given, collects the records this request wrote exactly as its device has them
    ({(type, id): version}): the pull that answers the push leaves them out, the device knowing them already.
    """
    if not ops:
        return []
    store.begin_writes(ops, actor)
    echoes = {} if echoes is None else echoes
    results = [_apply_one(store, actor, raw, echoes) for raw in ops]
    store.end_writes()
    return results


def _apply_one(store: Store, actor: Actor, raw: dict, echoes: dict) -> dict:
    logged = store.find_op(raw["op"])
    if logged is not None:
        return _duplicate(raw["op"], logged)
    unit_id = None
    try:
        op = parse_op(raw)
        rtype = TYPES[op.type]
        current = store.load(op.type, op.id)
        unit_id = _authorise(store, actor, op, current)
        changes = _checked_changes(store, actor, rtype, op, current, unit_id)
        result = merge(rtype, current, op.base, changes, op.op, ack=op.ack, by=actor.username,
                       at=op.at or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
        _check_needs(rtype, current, changes, result)
    except OpRejected as rejected:
        outcome = {"op": raw["op"], "status": "rejected", "error": rejected.as_dict()}
        store.log(raw, actor, unit_id, outcome, [])
        return outcome
    if result.changed:
        store.write(op.type, op.id, unit_id, result, actor, created=current is None)
    key = (op.type, op.id)
    echoes.pop(key, None)
    if _echoes_device(rtype, op, changes, result):
        echoes[key] = result.version
    outcome = {"op": op.op, "status": result.status, "version": result.version}
    if result.conflicts:
        outcome["conflicts"] = [mask_record(rtype, c, actor.sees_personal_data_of(unit_id), conflict=True)
                                for c in result.conflicts]
    store.log(op, actor, unit_id, outcome, result.conflicts)
    return outcome


def _echoes_device(rtype: RecordType, op: Op, changes: dict, result: Merge) -> bool:
    """Whether the record now is what the device made it: its own edit on the latest version, nothing the server
    added (defaults, a dated move's day, the gate), no conflict to show, no milestone reached (its moment is the
    server's)."""
    return (result.status == "applied" and not result.conflicts and not op.ack
            and changes == clean_fields(rtype, op.set)
            and changes.get(rtype.status.field if rtype.status else None) not in rtype.milestone)


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
    if current is not None and (current.unit_id not in actor.village_ids
                                or not gate.visible(actor, TYPES[op.type], current.fields)):
        # The same answer as for an id the server has never seen: nothing tells that the record exists elsewhere.
        raise OpRejected("not_found", "No such record on the server to edit.", "id")
    if current is not None:
        unit_id = current.unit_id
    elif TYPES[op.type].about:
        unit_id = _unit_of_target(store, actor, TYPES[op.type], op)
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


def _unit_of_target(store: Store, actor: Actor, rtype: RecordType, op: Op) -> int:
    """A record about another record (a review of a journal) belongs to that record's village."""
    type_field, id_field = rtype.about
    target_type, target_id = op.set.get(type_field), op.set.get(id_field)
    known = isinstance(target_type, str) and target_type in TYPES and isinstance(target_id, str)
    target = store.load(target_type, target_id.lower()) if known else None
    if target is None or target.unit_id not in actor.village_ids or not gate.visible(actor, TYPES[target_type],
                                                                                        target.fields):
        raise OpRejected("not_found", f"No {target_type} {target_id} to comment on.", id_field)
    return target.unit_id


def _checked_changes(store: Store, actor: Actor, rtype: RecordType, op: Op, current: Current | None,
                     unit_id: int) -> dict:
    changes = clean_fields(rtype, op.set)
    if current is not None and rtype.about and any(name in changes for name in rtype.about):
        raise OpRejected("forbidden", "What a record is about cannot change.", rtype.about[1])
    for name in rtype.fixed:
        if current is not None and name in changes and changes[name] != current.fields.get(name):
            raise OpRejected("forbidden", f"{name} cannot change once the record is made.", name)
    for name in rtype.one_way:
        if current is not None and current.fields.get(name) and name in changes and not changes[name]:
            raise OpRejected("forbidden", f"{name} cannot be undone.", name)
    if current is not None and rtype.authors_only and current.created_by != actor.user_id and (changes or op.ack):
        raise OpRejected("forbidden", f"Only its author may change a {rtype.name}.")
    for name, value in changes.items():
        spec = rtype.fields[name]
        if spec.writers is not None and actor.role not in spec.writers:
            raise OpRejected("forbidden", f"The role {actor.role} may not set {name}.", name)
        if spec.kind == "user" and value and not store.user_in_unit(value, unit_id):
            raise OpRejected("invalid_value", f"{name} must be a user of the record's village.", name)
    if current is None:
        if op.base is not None:
            raise OpRejected("not_found", "No such record on the server to edit.", "id")
        for name, default in rtype.defaults.items():
            if changes.get(name) is None:
                changes[name] = _default(default, actor)
        for name, spec in rtype.fields.items():
            if spec.required and changes.get(name) in (None, ""):
                raise OpRejected("required", f"{name} is required.", name)
    elif op.base is not None and op.base > current.version:
        raise OpRejected("bad_base", f"base {op.base} is newer than the server's version {current.version}.", "base")
    if rtype.screened:
        gate.screen(store, actor, op, current, changes, unit_id)
    for rule in rtype.statuses:
        _check_move(rtype, rule, actor, op, current, changes)
    return changes


def _default(default, actor: Actor):
    if default == "today":
        return shanghai_today()
    if default == "this_week":
        return this_week()
    if default == "origin":
        return "village" if actor.role in FIELD_ROLES else "township"
    return default


def _check_move(rtype: RecordType, rule, actor: Actor, op: Op, current: Current | None, changes: dict) -> None:
    """A status move must be allowed, by this role, with what it needs.

    A stale op whose status loses its conflict is not checked: the field's order
    keeps the current value (merge.py). One whose status would win is checked
    from the state the record is really in.
    """
    if rule.field not in changes:
        return
    target = changes[rule.field]
    if target in rule.roles and actor.role not in rule.roles[target]:
        raise OpRejected("forbidden", f"The role {actor.role} may not set {rule.field} to {target}.", rule.field)
    source = (current.fields.get(rule.field) if current else None) or rule.initial
    stale = rule.field in stale_fields(current, op.base, changes)
    if target == source or (stale and rtype.fields[rule.field].merge == "ordered"
                            and further(rtype.fields[rule.field].order, source, target)):
        return
    if target not in rule.moves.get(source, ()):
        raise OpRejected("illegal_transition", f"{rule.field} cannot move from {source} to {target}.", rule.field)
    needed = rule.needs_new.get((source, target))
    if needed and not changes.get(needed):
        raise OpRejected("required", f"Moving from {source} to {target} needs {needed}.", needed)
    dated = rule.dated.get(target)
    if dated and not changes.get(dated) and not (current and current.fields.get(dated)):
        changes[dated] = shanghai_today()


def _check_needs(rtype: RecordType, current: Current | None, changes: dict, result: Merge) -> None:
    """A state that needs a value (resolved needs a resolution) must have it after the merge."""
    for rule in rtype.statuses:
        _check_need(rule, current, changes, result)


def _check_need(rule, current: Current | None, changes: dict, result: Merge) -> None:
    state = result.fields.get(rule.field)
    needed = rule.needs.get(state)
    moved = current is None or current.fields.get(rule.field) != state
    if needed and (moved or needed in changes) and not result.fields.get(needed):
        raise OpRejected("required", f"{rule.field} {state} needs {needed}.", needed)


def pull(store: Store, actor: Actor, cursor: Cursor, limit: int, echoes: dict | None = None) -> dict:
    """The records in the actor's scope changed after `cursor`, oldest first within each county, except
    `echoes` (see apply_ops).

    The sequence is per county, and so is the cursor: a county's number (an integer) for a scope inside one
    county, else an opaque string of one number per county. Each county's counter is read before its
    changes: every number up to it belongs to a committed write, so nothing below the returned position can
    still appear later.
    """
    counties = store.counties(actor.village_ids)
    start = _positions(cursor, counties)
    reached, rows, more = dict(start), [], False
    for county in sorted(counties):
        room = limit - len(rows)
        upto = store.current_seq(county)
        found = store.changes(county, counties[county], start[county], upto, room + 1,
                              village_view=actor.role in FIELD_ROLES)
        if len(found) > room:
            rows += found[:room]
            reached[county], more = found[room - 1].seq if room else start[county], True
            break
        rows += found
        reached[county] = max(upto, start[county])
    next_cursor = _cursor_of(reached, cursor)
    echoes = echoes or {}
    rows = [row for row in rows if echoes.get((row.type, row.id)) != row.version]
    return {"changes": [wire.change(_visible_change(actor, row)) for row in rows], "cursor": next_cursor,
            "more": more}


def _positions(cursor: Cursor, counties: dict) -> dict[int, int]:
    """Where each county of the scope starts. An integer names the one county's position; given to a scope
    spanning counties (one that has grown since) it cannot say whose, so every county starts from nothing."""
    if isinstance(cursor, dict):
        return {county: cursor.get(county, 0) for county in counties}
    return {county: cursor if len(counties) == 1 else 0 for county in counties}


def _cursor_of(reached: dict[int, int], cursor: Cursor) -> Cursor:
    if len(reached) == 1:
        return next(iter(reached.values()))
    if not reached:  # a scope without villages: nothing to pull, the cursor unchanged
        return cursor if isinstance(cursor, int) else 0
    return cursor_string(reached)


def _visible_change(actor: Actor, row: ChangeRow) -> ChangeRow:
    rtype = TYPES[row.type]
    full = actor.sees_personal_data_of(row.unit_id)
    return replace(row, fields=_visible_fields(actor, rtype, row.fields, full),
                   conflicts=_visible_conflicts(rtype, row.conflicts, full))


def _visible_fields(actor: Actor, rtype: RecordType, fields: dict, full: bool) -> dict:
    """Personal data masked outside the village; what is the township's own left out for a village user."""
    fields = mask_record(rtype, fields, full)
    return for_village(rtype, fields) if actor.role in FIELD_ROLES else fields


def _visible_conflicts(rtype: RecordType, conflicts: list, full: bool) -> list:
    return [mask_record(rtype, c, full, conflict=True) for c in conflicts]


def history(store: Store, actor: Actor, rtype_name: str, record_id: str) -> list[dict] | None:
    """The record's change history from the op log, or None when it is not in the actor's scope."""
    current = _visible_record(store, actor, rtype_name, record_id)
    if current is None:
        return None
    rtype, full = TYPES[rtype_name], actor.sees_personal_data_of(current.unit_id)
    return [wire.history_entry(replace(entry, changes=_visible_fields(actor, rtype, entry.changes, full),
                                       conflicts=_visible_conflicts(rtype, entry.conflicts, full)))
            for entry in store.history(rtype_name, record_id)]


def thread(store: Store, actor: Actor, rtype_name: str, record_id: str) -> list[dict] | None:
    """The review comments and replies on a record, oldest first; None outside the actor's scope."""
    current = _visible_record(store, actor, rtype_name, record_id)
    if current is None:
        return None
    return [wire.review(row) for row in store.reviews_of(rtype_name, record_id, current.unit_id)]


def _visible_record(store: Store, actor: Actor, rtype_name: str, record_id: str) -> Current | None:
    """The record, if the actor may see it: in scope, and (a township task) through the gate for a village."""
    current = store.load(rtype_name, record_id) if rtype_name in TYPES else None
    if current is None or current.unit_id not in actor.village_ids \
            or not gate.visible(actor, TYPES[rtype_name], current.fields):
        return None
    return current
