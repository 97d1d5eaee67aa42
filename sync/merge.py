"""Merging one op into the current state of a record, field by field.

A field nobody changed since the op's base takes the new value. A field
changed on both sides is a conflict, settled by the field's rule in types.py;
the losing value is returned so it is kept in the history and shown as an open
conflict on the record until someone acknowledges it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .types import RecordType


@dataclass
class Current:
    version: int
    fields: dict
    field_versions: dict
    unit_id: int
    deleted: bool = False
    conflicts: list = field(default_factory=list)
    created_by: int | None = None


@dataclass
class Merge:
    status: str  # applied | merged
    version: int
    fields: dict  # the record's fields after the op
    field_versions: dict
    changed: bool
    conflicts: list = field(default_factory=list)       # made by this op
    open_conflicts: list = field(default_factory=list)  # on the record after this op


def stale_fields(current: Current | None, base: int | None, changes: dict) -> set[str]:
    """The fields of `changes` that someone else changed since `base` to a different value."""
    if current is None:
        return set()
    return {name for name, new in changes.items()
            if current.field_versions.get(name, 0) > (base or 0) and current.fields.get(name) != new}


def merge(rtype: RecordType, current: Current | None, base: int | None, changes: dict, op_id: str,
          ack: bool = False, by: str = "", at: str | None = None) -> Merge:
    if current is None:
        values = {name: changes.get(name) for name in rtype.fields}
        return Merge("applied", 1, values, {name: 1 for name in changes}, True)

    version = current.version + 1
    values = dict(current.fields)
    versions = dict(current.field_versions)
    conflicts = []
    stale = stale_fields(current, base, changes)
    for name, new in changes.items():
        old = values.get(name)
        if new == old:
            continue
        if name in stale:
            spec = rtype.fields[name]
            old_wins = spec.merge == "ordered" and further(spec.order, old, new)
            conflicts.append({"field": name, "kept": old if old_wins else new, "lost": new if old_wins else old,
                              "lost_from": op_id if old_wins else "server", "op": op_id, "by": by, "at": at})
            if old_wins:
                continue
        values[name] = new
        versions[name] = version
    open_conflicts = ([] if ack else list(current.conflicts)) + conflicts
    changed = values != current.fields or open_conflicts != current.conflicts
    status = "applied" if (base or 0) >= current.version else "merged"
    return Merge(status, version if changed else current.version, values, versions, changed, conflicts,
                 open_conflicts)


def further(order: tuple, old, new) -> bool:
    """Whether the old value is further along the order than the new one."""
    return old in order and new in order and order.index(old) > order.index(new)
