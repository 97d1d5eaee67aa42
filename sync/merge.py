"""Merging one op into the current state of a record, field by field.

A field nobody changed since the op's base takes the new value. A field
changed on both sides is a conflict: the later arrival wins, except for a
field with a declared order, where the value furthest along wins. The losing
value is returned so it can be kept in the record's history.
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


@dataclass
class Merge:
    status: str  # applied | merged
    version: int
    fields: dict  # the record's fields after the op
    field_versions: dict
    changed: bool
    conflicts: list = field(default_factory=list)


def merge(rtype: RecordType, current: Current | None, base: int | None, changes: dict, op_id: str) -> Merge:
    if current is None:
        values = {name: changes.get(name) for name in rtype.fields}
        return Merge("applied", 1, values, {name: 1 for name in changes}, True)

    base = base or 0
    version = current.version + 1
    values = dict(current.fields)
    versions = dict(current.field_versions)
    conflicts = []
    for name, new in changes.items():
        old = values.get(name)
        if new == old:
            continue
        if versions.get(name, 0) > base:
            old_wins = _old_wins(rtype.fields[name].order, old, new)
            conflicts.append({"field": name, "kept": old if old_wins else new,
                              "lost": new if old_wins else old,
                              "lost_from": op_id if old_wins else "server"})
            if old_wins:
                continue
        values[name] = new
        versions[name] = version
    changed = values != current.fields
    status = "applied" if base >= current.version else "merged"
    return Merge(status, version if changed else current.version, values, versions, changed, conflicts)


def _old_wins(order: tuple, old, new) -> bool:
    """The later arrival wins, unless the field's order says the old value is further along."""
    return bool(order) and old in order and new in order and order.index(old) > order.index(new)
