"""Masking residents' personal data for everyone outside their village."""
from __future__ import annotations

from .types import RecordType


def mask_value(kind: str, value):
    if not isinstance(value, str) or not value:
        return value
    if kind == "contact":  # a mobile number keeps 3 + 4 digits; anything shorter only its last 2
        if len(value) >= 11:
            return value[:3] + "*" * (len(value) - 7) + value[-4:]
        return "*" * max(len(value) - 2, 2) + value[-2:] if len(value) > 4 else "*" * len(value)
    return value[0] + "**" if len(value) > 1 else "*"  # the surname, at a fixed width


def for_village(rtype: RecordType, values: dict) -> dict:
    """`values` without the fields only the township sees."""
    return {name: value for name, value in values.items()
            if not (name in rtype.fields and rtype.fields[name].township_only)}


def mask_record(rtype: RecordType, values: dict, full: bool, conflict: bool = False) -> dict:
    """`values` with personal fields masked unless `full`; a conflict entry masks its kept/lost values."""
    if full:
        return dict(values)
    out = dict(values)
    if conflict:
        spec = rtype.fields.get(values.get("field"))
        if spec is not None and spec.personal:
            out["kept"] = mask_value(spec.personal, values.get("kept"))
            out["lost"] = mask_value(spec.personal, values.get("lost"))
        return out
    for name, value in values.items():
        spec = rtype.fields.get(name)
        if spec is not None and spec.personal:
            out[name] = mask_value(spec.personal, value)
    return out
