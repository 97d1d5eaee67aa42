"""The merge table as data, for the phone (GET /api/schema) and any other client.

Everything a client needs to build its forms, checks and status buttons — and nothing it could get wrong by
declaring it again: kinds, limits, enum values, writers, personal data, defaults, status moves and milestones.
"""
from __future__ import annotations

import hashlib
import json

from .envelope import MAX_INT
from .types import FIELD_ROLES, REVIEWERS, STAFF_ROLES, TOWNSHIP_ROLES, TYPES, Field, RecordType, StatusRule


def _roles(roles) -> list[str]:
    return sorted(roles)


def field_schema(rtype: RecordType, spec: Field) -> dict:
    out = {"kind": spec.kind, "required": spec.required, "merge": spec.merge,
           "writers": _roles(spec.writers if spec.writers is not None else rtype.writers),
           "personal": spec.personal, "township_only": spec.township_only}
    if spec.kind in ("text", "user"):
        out["max_length"] = spec.max_length
    if spec.kind == "int":
        out["minimum"] = spec.minimum if spec.minimum is not None else -MAX_INT
        out["maximum"] = spec.maximum if spec.maximum is not None else MAX_INT
    if spec.kind in ("date", "week"):
        out["days_back"], out["days_ahead"] = spec.days_back, spec.days_ahead
    if spec.pattern:
        out["pattern"] = spec.pattern
    if spec.order:
        out["values"] = list(spec.order)
    if spec.name in rtype.defaults:
        out["default"] = rtype.defaults[spec.name]
    if spec.why:
        out["why"] = spec.why
    if spec.name in rtype.fixed:
        out["fixed"] = True    # set when the record is made; no later op may change it
    if spec.name in rtype.one_way:
        out["one_way"] = True  # once true, never false again
    return out


def rule_schema(rule: StatusRule) -> dict:
    return {
        "field": rule.field, "initial": rule.initial,
        "moves": {source: sorted(targets) for source, targets in rule.moves.items()},
        "roles": {target: _roles(roles) for target, roles in rule.roles.items()},
        "needs": dict(rule.needs),
        "needs_new": [{"from": a, "to": b, "field": name} for (a, b), name in rule.needs_new.items()],
        "dated": dict(rule.dated),
    }


def type_schema(rtype: RecordType) -> dict:
    return {
        "writers": _roles(rtype.writers),
        "fields": {name: field_schema(rtype, spec) for name, spec in rtype.fields.items()},
        "statuses": [rule_schema(rule) for rule in rtype.statuses],
        "milestone": list(rtype.milestone),
        "about": list(rtype.about) if rtype.about else None,
        "authors_only": rtype.authors_only,
        "screened": rtype.screened,
    }


def schema() -> dict:
    """The whole table, with a version that changes whenever any rule does."""
    body = {
        "types": {name: type_schema(rtype) for name, rtype in TYPES.items()},
        "roles": {"field": _roles(FIELD_ROLES), "township": _roles(TOWNSHIP_ROLES), "staff": _roles(STAFF_ROLES),
                  "reviewers": _roles(REVIEWERS)},
        "defaults": {"today": "today's date in Asia/Shanghai", "this_week": "this ISO week in Asia/Shanghai",
                     "origin": "village for field roles, else township"},
        "time_zone": "Asia/Shanghai",
    }
    body["version"] = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    return body
