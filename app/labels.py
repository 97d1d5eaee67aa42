"""What the pages and the phone call things: record types, fields, statuses, moves, and the engine's rejections.

Every label is a lazy msgid, so the page's locale decides; the phone gets them with the schema
(`for_schema`). The field names are those of `sync/types.py`; a field missing here falls back to its
protocol name.
"""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from sync.types import OFFLIST_REASON_MIN, TYPES

TYPE_LABELS = {
    "journal": _l("Journal"),
    "problem": _l("Problem"),
    "meeting": _l("Pavilion meeting"),
    "request": _l("Resident request"),
    "task": _l("Task"),
    "review": _l("Review comment"),
    "attachment": _l("Photo"),
}

FIELD_LABELS = {
    "journal": {"date": _l("Date"), "text": _l("Text"), "visits": _l("Households visited"),
                "places": _l("Places"), "reflection": _l("Reflection")},
    "problem": {"title": _l("Title"), "detail": _l("Detail"), "category": _l("Category"),
                "urgent": _l("Urgent"), "status": _l("Status"), "owner": _l("Owner"), "due": _l("Due"),
                "resolution": _l("Resolution"), "source_type": _l("Source"), "source_id": _l("Source record"),
                "reopen_reason": _l("Reason for reopening")},
    "meeting": {"date": _l("Date"), "place": _l("Place"), "topic": _l("Topic"),
                "attendance": _l("Attendance"), "minutes": _l("Minutes")},
    "request": {"content": _l("Request"), "category": _l("Category"), "resident_name": _l("Resident"),
                "resident_contact": _l("Contact"), "meeting_id": _l("Meeting"), "status": _l("Status"),
                "reply": _l("Reply"), "replied_on": _l("Replied on"),
                "livelihood_project": _l("Livelihood project"), "problem_id": _l("Linked problem")},
    "task": {"title": _l("Title"), "detail": _l("Detail"), "due": _l("Due"), "assignee": _l("Assignee"),
             "status": _l("Status"), "note": _l("Note"), "week": _l("Week"), "origin": _l("Origin"),
             "item_code": _l("Screening code"), "offlist_reason": _l("Reason for going off the list"),
             "support_department": _l("Supporting department or station"), "dispatch_id": _l("Dispatch"),
             "gate": _l("Screening"), "gate_reason": _l("Approver's reason"), "item_name": _l("Work item"),
             "item_basis": _l("Basis"), "duplicate_of": _l("Repeats the task"),
             "sent_on": _l("Reached the village on"), "flag": _l("Flagged by the village"),
             "flag_note": _l("The village's note")},
    "review": {"target_type": _l("About"), "target_id": _l("Record"), "comment": _l("Comment"),
               "decision": _l("Decision"), "reply_to": _l("Reply to")},
    "attachment": {"owner_type": _l("Attached to"), "owner_id": _l("Record"), "sha256": _l("SHA-256 digest"),
                   "mime": _l("File type"), "bytes": _l("Size in bytes"), "width": _l("Width"),
                   "height": _l("Height"), "caption": _l("Caption"), "removed": _l("Removed")},
}

STATUS_LABELS = {
    "problem": {"open": _l("Open"), "in_progress": _l("In progress"), "resolved": _l("Resolved"),
                "verified": _l("Verified")},
    "request": {"recorded": _l("Recorded"), "accepted": _l("Accepted"), "answered": _l("Answered"),
                "closed": _l("Closed")},
    "task": {"received": _l("Received"), "in_progress": _l("In progress"), "done": _l("Done")},
}

DECISION_LABELS = {"ok": _l("Fine"), "follow_up": _l("Needs follow-up")}

# Why a record waits in the review queue.
REASON_LABELS = {"new": _l("New"), "changed": _l("Changed since you looked"),
                 "comment": _l("New comment or reply")}

ENUM_LABELS = {
    ("problem", "source_type"): {"journal": _l("Journal"), "request": _l("Resident request"),
                                 "visit": _l("Household visit"), "township": _l("Township")},
    ("task", "origin"): {"township": _l("Township"), "village": _l("Village")},
    ("task", "gate"): {"pending": _l("Awaiting approval"), "returned": _l("Returned for revision"),
                       "rejected": _l("Rejected in screening"), "approved": _l("Approved"),
                       "withdrawn": _l("Withdrawn")},
    ("task", "flag"): {"duplicate": _l("Duplicate dispatch"), "off_list": _l("Off the list"),
                       "unclear": _l("Unclear requirements"), "burden": _l("Too heavy a burden")},
}

ENUM_LABELS[("review", "target_type")] = TYPE_LABELS
ENUM_LABELS[("review", "decision")] = DECISION_LABELS
ENUM_LABELS[("attachment", "owner_type")] = TYPE_LABELS
ENUM_LABELS[("attachment", "mime")] = {"image/jpeg": "JPEG", "image/webp": "WebP", "image/png": "PNG"}

# The buttons of a status move, by (type, target); a move from a given state may have its own words.
MOVE_LABELS = {
    ("problem", "in_progress"): _l("Start work"), ("problem", "resolved"): _l("Resolved…"),
    ("problem", "open"): _l("Back to open"), ("problem", "verified"): _l("Verify"),
    ("problem", "resolved", "open"): _l("Reopen…"), ("problem", "verified", "open"): _l("Reopen…"),
    ("problem", "resolved", "in_progress"): _l("Reopen and keep working…"),
    ("request", "accepted"): _l("Accept"), ("request", "answered"): _l("Answer…"),
    ("request", "closed"): _l("Mark closed"),
    ("task", "in_progress"): _l("Start work"), ("task", "done"): _l("Done…"),
    ("task", "done", "in_progress"): _l("Not done yet"),
}
# The question asked when a move needs words, by the field it needs.
PROMPT_LABELS = {"resolution": _l("How was it resolved?"), "reopen_reason": _l("Why reopen it?"),
                 "reply": _l("The reply to the resident"), "note": _l("Mark the task done")}

WORK_ITEM_STATUS_LABELS = {"active": _l("On the list"), "retired": _l("Retired from the list"),
                           "cancelled": _l("On the cancelled list")}


def gate_label(value) -> str:
    """A task's screening state (待审核, 已退回 …); a task from before the gate counts as approved."""
    return str(ENUM_LABELS[("task", "gate")].get(value or "approved", value))


def flag_label(value) -> str:
    return str(ENUM_LABELS[("task", "flag")].get(value, value or ""))


def item_status_label(value) -> str:
    return str(WORK_ITEM_STATUS_LABELS.get(value, value or ""))


def type_label(rtype: str) -> str:
    return str(TYPE_LABELS.get(rtype, rtype))


def decision_label(value) -> str:
    return str(DECISION_LABELS.get(value, value or ""))


def reason_label(value) -> str:
    return str(REASON_LABELS.get(value, value or ""))


def field_label(rtype: str, name: str | None) -> str:
    if not name:
        return ""
    return str(FIELD_LABELS.get(rtype, {}).get(name, name))


def status_label(rtype: str, value) -> str:
    return str(STATUS_LABELS.get(rtype, {}).get(value, value or "—"))


def value_label(rtype: str, name: str, value) -> str:
    """A field's value as text for people: statuses and enums translated, yes/no, dashes for empty."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if name == "status":
        return status_label(rtype, value)
    labels = ENUM_LABELS.get((rtype, name))
    if labels and value in labels:
        return str(labels[value])
    return str(value)


def rejection(error: dict, rtype: str, *, source: str | None = None, target: str | None = None,
              item_code: str | None = None, offlist: bool = False, mine: bool = False) -> str:
    """The engine's rejection (stable code, English message) as a sentence in the page's language.

    For a task, `source`/`target` may be screening states (the `gate` field), `item_code` is the code
    the person asked for, `offlist` whether the task is (or was marked) off the list, `mine` whether the
    person deciding wrote it.
    """
    error = error or {}
    code, name = error.get("code"), error.get("field")
    label = field_label(rtype, name)
    if rtype == "task":
        message = _gate_rejection(code, name, source=source, target=target, item_code=item_code, offlist=offlist,
                                  mine=mine)
        if message:
            return message
    if code == "illegal_transition":
        return _("Not saved: the status cannot go from “%(source)s” to “%(target)s”.",
                 source=status_label(rtype, source), target=status_label(rtype, target))
    if code == "required" and name == "reopen_reason":
        return _("Not saved: reopening needs a reason.")
    if code == "required":
        return _("Not saved: “%(field)s” is required.", field=label)
    if code == "forbidden":
        return _("Not saved: your role may not make this change.")
    if code in ("out_of_scope", "unknown_unit", "unit_required"):
        return _("Not saved: choose a village in your area.")
    spec = TYPES[rtype].fields.get(name) if rtype in TYPES and name else None
    if code == "invalid_value" and spec is not None and spec.kind == "user":
        return _("Not saved: “%(field)s” must be a person of the chosen village.", field=label)
    if code == "invalid_value":
        return _("Not saved: the value of “%(field)s” is not valid.", field=label)
    if code == "too_large" and rtype == "attachment":
        return _("Not saved: the photo is larger than 10 MB.")
    if code == "too_long":
        return _("Not saved: “%(field)s” is too long.", field=label)
    if code in ("not_found", "bad_base"):
        return _("Not saved: the record has changed or is gone. Reload the page and try again.")
    return _("Not saved: %(message)s", message=error.get("message") or code or "?")


def _gate_rejection(code, name, *, source, target, item_code, offlist, mine) -> str | None:
    """The dispatch gate's codes (sync/gate.py) for a township task, or None for the generic wording."""
    if code == "item_required" and offlist:
        return _("Not sent: an off-list task needs a written reason of at least %(min)d characters.",
                 min=OFFLIST_REASON_MIN)
    if code == "item_required":
        return _("Not sent: choose an item of the county's work-item list, or mark the task as off the list "
                 "and give the reason.")
    if code == "unknown_item":
        return _("Not sent: the county's work-item list has no item “%(code)s”.", code=item_code or "?")
    if code == "item_cancelled":
        return _("Not sent: item “%(code)s” is on the county's cancelled list and may no longer be sent to "
                 "villages.", code=item_code or "?")
    if code == "item_retired":
        return _("Not sent: item “%(code)s” has been retired from the county's list.", code=item_code or "?")
    if code == "stale":
        return _("Not decided: the task changed after you opened the page. Look at it again, then decide.")
    if code == "withdrawn":
        return _("Not saved: the township has withdrawn this task.")
    if code == "required" and name == "gate_reason" and target == "approved":
        return _("Not approved: this task repeats an earlier one, so approving it needs a reason.")
    if code == "required" and name == "gate_reason":
        return _("Not saved: rejecting or returning a task needs a reason.")
    if code == "forbidden" and name == "gate" and target == "approved" and offlist and mine:
        return _("Not approved: you sent this off-list task yourself, so another approver must decide it.")
    if code == "forbidden" and name == "gate" and target == "withdrawn":
        return _("Not withdrawn: only the task's author or an approver may withdraw it.")
    if code == "illegal_transition" and name == "gate" and target == "withdrawn" and source in (None, "approved",
                                                                                                 "pending", "returned"):
        return _("Not withdrawn: the village has already done this task.")
    if code == "illegal_transition" and name == "gate":
        return _("Not saved: the screening cannot go from “%(source)s” to “%(target)s”.",
                 source=gate_label(source), target=gate_label(target))
    return None


def for_schema() -> dict:
    """Every label the phone shows for the merge table, in the request's language."""
    out = {}
    for name, rtype in TYPES.items():
        values = {field: {v: value_label(name, field, v) for v in spec.order}
                  for field, spec in rtype.fields.items() if spec.order}
        moves = {"|".join(key[1:]): str(text) for key, text in MOVE_LABELS.items() if key[0] == name}
        out[name] = {"label": type_label(name),
                     "fields": {field: field_label(name, field) for field in rtype.fields},
                     "values": values, "moves": moves}
    return {"types": out, "prompts": {field: str(text) for field, text in PROMPT_LABELS.items()}}
