"""Print the merge table of sync/types.py as Markdown (docs/sync-protocol.md embeds it).

Usage: python -m sync.table
"""
from .types import TYPES

DEFAULTS = {"today": "today (Asia/Shanghai)", "origin": "township or village, by the creator's role"}


def _roles(roles) -> str:
    return ", ".join(sorted(roles)) if roles else "nobody (set by the server)"


def markdown() -> str:
    lines = ["| type | field | kind | on conflict | who may set it | notes |",
             "| --- | --- | --- | --- | --- | --- |"]
    for rtype in TYPES.values():
        for spec in rtype.fields.values():
            joiner = " → " if spec.merge == "ordered" else ", "
            kind = spec.kind + (f" ({joiner.join(spec.order)})" if spec.order else "")
            merge = "furthest along the order wins" if spec.merge == "ordered" else "later arrival wins"
            writers = _roles(spec.writers if spec.writers is not None else rtype.writers)
            notes = []
            if spec.required:
                notes.append("required")
            if spec.personal:
                notes.append(f"personal ({spec.personal}): masked outside the village")
            if spec.township_only:
                notes.append("township only: never sent to the village")
            if spec.name in rtype.fixed:
                notes.append("set once: no later op may change it")
            if spec.name in rtype.one_way:
                notes.append("one way: once true, an op setting it back is rejected `forbidden`")
            if spec.over != "out_of_range":
                notes.append(f"above the maximum: rejected `{spec.over}`")
            bound = _bound(spec)
            if bound:
                notes.append(bound)
            if spec.name in rtype.defaults:
                default = rtype.defaults[spec.name]
                notes.append("default: " + DEFAULTS.get(default, str(default).lower()))
            lines.append(f"| `{rtype.name}` | `{spec.name}` | {kind} | {merge} | {writers} | {'; '.join(notes)} |")
    lines += ["", "| type | field | moves | only these roles | a move there needs |", "| --- | --- | --- | --- | --- |"]
    for rtype in TYPES.values():
        for rule in rtype.statuses:
            lines.append(_rule_row(rtype, rule))
    return "\n".join(lines)


def _bound(spec) -> str:
    """A field's limit in words, with its reason (text limits are plain: they only stop the absurd)."""
    if spec.kind == "int" and (spec.minimum is not None or spec.maximum is not None):
        low = spec.minimum if spec.minimum is not None else "…"
        high = spec.maximum if spec.maximum is not None else "…"
        bound = f"from {low} to {high}"
    elif spec.kind in ("date", "week") and (spec.days_back is not None or spec.days_ahead is not None):
        bound = f"from {spec.days_back} days before today to {spec.days_ahead} days after"
    elif spec.kind == "text" and spec.pattern:
        bound = f"matches `{spec.pattern}`"
    elif spec.kind == "text":
        bound = f"at most {spec.max_length:,} characters"
    else:
        return ""
    return f"{bound} ({spec.why})" if spec.why else bound


def _rule_row(rtype, rule) -> str:
    moves = "; ".join(f"{source} → {', '.join(sorted(targets)) or '(final)'}" for source, targets in rule.moves.items())
    roles = "; ".join(f"{target}: {_roles(roles)}" for target, roles in rule.roles.items()) or "—"
    needs = [f"{target}: `{field}`" for target, field in rule.needs.items()]
    needs += [f"{a} → {b}: a new `{field}`" for (a, b), field in rule.needs_new.items()]
    needs += [f"{target}: `{field}` (today unless given)" for target, field in rule.dated.items()]
    return f"| `{rtype.name}` | `{rule.field}` | {moves} | {roles} | {'; '.join(needs) or '—'} |"


if __name__ == "__main__":
    print(markdown())
