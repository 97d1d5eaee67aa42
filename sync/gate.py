"""The dispatch gate (派单过筛): what a township task must carry before it may reach a village.

A township task names an active item of its county's work-item list, or gives a written reason for
going off the list. A township approver lets it through, rejects it or returns it for revision; until
it is approved the village does not see it at all. The server copies the item's name, basis and
department onto the task (so the phone has them offline) and marks a task that repeats one the village
already has.
"""
from __future__ import annotations

import re

from .errors import OpRejected
from .types import APPROVERS, FIELD_ROLES, OFFLIST_REASON_MIN, RecordType, shanghai_today

DUPLICATE_WINDOW_DAYS = 30
DECISIONS = ("approved", "rejected", "returned")
SETTLED = ("approved", "rejected", "withdrawn")
CONTENT = frozenset({"title", "detail", "due", "assignee", "week", "item_code", "offlist_reason",
                     "support_department", "dispatch_id"})
_NOT_WORDS = re.compile(r"[\s\W_]+", re.UNICODE)


def title_key(title: str | None) -> str:
    """A title without spaces and punctuation, so "防火巡查！" and "防火 巡查" are the same task."""
    return _NOT_WORDS.sub("", title or "").lower()


def reaches_village(fields: dict) -> bool:
    """The village sees its own plan tasks, and township tasks once they were approved."""
    return fields.get("origin") != "township" or bool(fields.get("sent_on"))


def visible(actor, rtype: RecordType, fields: dict) -> bool:
    return not (rtype.screened and actor.role in FIELD_ROLES and not reaches_village(fields))


def screen(store, actor, op, current, changes: dict, unit_id: int) -> None:
    """Check a task op against the gate and add the fields the server sets; raise OpRejected."""
    if actor.role in FIELD_ROLES:
        if current is not None and current.fields.get("gate") == "withdrawn" and changes:
            raise OpRejected("withdrawn", "The township has withdrawn this task.", "gate")
        return
    if current is None:
        _screen_new(store, actor, op, changes, unit_id)
    else:
        _screen_change(store, actor, op, current, changes, unit_id)


def _screen_new(store, actor, op, changes: dict, unit_id: int) -> None:
    _check_item(store, changes, unit_id)
    changes["duplicate_of"] = store.duplicate_task(unit_id, op.id, changes.get("item_code"),
                                                   title_key(changes.get("title")), DUPLICATE_WINDOW_DAYS)
    clean = bool(changes.get("item_code")) and not changes["duplicate_of"]
    gate = "approved" if actor.role in APPROVERS and clean else "pending"
    if changes.get("gate") not in (None, gate):
        raise OpRejected("forbidden", "A new task starts pending; only an approver lets it through.", "gate")
    changes["gate"] = gate
    if gate == "approved":
        changes["sent_on"] = shanghai_today()


def _check_item(store, changes: dict, unit_id: int) -> None:
    """The task's item must be active on the county's list; an off-list task needs a written reason."""
    code = changes.get("item_code")
    if not code:
        changes["item_code"] = None
        if len(changes.get("offlist_reason") or "") < OFFLIST_REASON_MIN:
            raise OpRejected("item_required", "Name an item of the county's work-item list (item_code), "
                             f"or give a reason of at least {OFFLIST_REASON_MIN} characters why this task "
                             "is off the list (offlist_reason).", "item_code")
        changes["item_name"] = changes["item_basis"] = None
        return
    item = store.work_item(unit_id, code)
    if item is None:
        raise OpRejected("unknown_item", f"The county's work-item list has no item {code}.", "item_code")
    if item["status"] == "cancelled":
        raise OpRejected("item_cancelled", f"Item {code} is on the cancelled list: it may not be sent to "
                         "villages.", "item_code")
    if item["status"] == "retired":
        raise OpRejected("item_retired", f"Item {code} has been retired from the list.", "item_code")
    changes["item_name"], changes["item_basis"] = item["name"], item["basis"]
    if not changes.get("support_department"):
        changes["support_department"] = item["department"]


def _screen_change(store, actor, op, current, changes: dict, unit_id: int) -> None:
    before = current.fields
    if before.get("origin") != "township":
        if {"gate", "item_code", "offlist_reason"} & set(changes):
            raise OpRejected("forbidden", "A village's own plan task passes no gate.", "gate")
        return
    edited = {name for name in CONTENT & set(changes) if changes[name] != before.get(name)}
    if edited & {"item_code", "offlist_reason", "dispatch_id"} and before.get("gate") in SETTLED:
        # What the approver let through (or refused) stays what it was: a new item is a new dispatch.
        raise OpRejected("forbidden", "A task already decided keeps its item; withdraw it and dispatch a new one.",
                         sorted(edited & {"item_code", "offlist_reason", "dispatch_id"})[0])
    if edited & {"item_code", "offlist_reason"}:
        merged = {"item_code": before.get("item_code"), "offlist_reason": before.get("offlist_reason"),
                  "support_department": before.get("support_department"), **changes}
        old = store.work_item(unit_id, before["item_code"]) if before.get("item_code") else None
        if "support_department" not in changes and old and before.get("support_department") == old["department"]:
            merged["support_department"] = None  # it was the old item's department: take the new item's
        _check_item(store, merged, unit_id)
        changes.update({k: merged[k] for k in ("item_code", "item_name", "item_basis", "support_department")})
    target = changes.get("gate")
    if target in DECISIONS and edited and target != before.get("gate"):
        raise OpRejected("forbidden", "A decision changes only the gate and its reason; the task's author "
                         "revises its content.", sorted(edited)[0])
    if target is not None and target != before.get("gate"):
        if target == "approved":  # what it repeats as the task stands now, not when it was sent
            changes["duplicate_of"] = store.duplicate_task(unit_id, op.id, before.get("item_code"),
                                                           title_key(before.get("title")), DUPLICATE_WINDOW_DAYS)
        _check_decision(actor, op, current, changes, target)
    elif edited and before.get("gate") == "returned" and current.created_by == actor.user_id:
        changes["gate"] = "pending"  # the author's revision goes back to the approver
    if changes.get("gate", before.get("gate")) in ("pending", "returned") and (
            edited & {"item_code", "title"} or changes.get("gate", before.get("gate")) != before.get("gate")):
        # Not yet decided: what the approver is shown as repeated follows the task as it now stands.
        key = changes.get("title", before.get("title"))
        changes["duplicate_of"] = store.duplicate_task(unit_id, op.id, changes.get("item_code", before.get("item_code")),
                                                       title_key(key), DUPLICATE_WINDOW_DAYS)


def _check_decision(actor, op, current, changes: dict, target: str) -> None:
    before = current.fields
    if target in DECISIONS and op.base != current.version:
        raise OpRejected("stale", "The task changed since you opened it; look at it again before deciding.",
                         "base")
    if target == "approved":
        item_code = changes.get("item_code", before.get("item_code"))
        if not item_code and current.created_by == actor.user_id:
            raise OpRejected("forbidden", "An off-list task needs another approver than its author.", "gate")
        if changes.get("duplicate_of") and not changes.get("gate_reason"):
            raise OpRejected("required", "This task repeats an earlier one: approving it needs a reason "
                             "(gate_reason).", "gate_reason")
        if not before.get("sent_on"):
            changes["sent_on"] = shanghai_today()
    if target == "pending" and before.get("gate") == "returned" and current.created_by != actor.user_id:
        raise OpRejected("forbidden", "Only the task's author sends a returned task back for screening.", "gate")
    if target == "withdrawn":
        if current.created_by != actor.user_id and actor.role not in APPROVERS:
            raise OpRejected("forbidden", "Only the task's author or an approver may withdraw it.", "gate")
        if before.get("status") == "done":
            raise OpRejected("illegal_transition", "The village has already done this task.", "gate")
