"""One record at the township: its fields, conflicts, history and thread; verify, reopen, acknowledge."""
from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template
from flask_babel import gettext as _
from flask_login import current_user

from sync.types import TOWNSHIP_ROLES, TYPES

from .. import labels, sync_service
from ..models import MILESTONE_COLUMNS
from . import bp, dispatch, photos, queries, records, review
from .forms import RecordActionForm, ReopenForm
from .routes import fmt_time, record_url, township_required


@bp.get("/records/<rtype>/<record_id>")
@township_required
def record(rtype, record_id):
    row = queries.record(current_user, rtype, record_id)
    entries = sync_service.history(current_user, rtype, record_id) if row is not None else None
    if row is None or entries is None:
        abort(404)
    actor = records.request_actor()
    item = records.view(actor, rtype, row)
    related = _related(actor, item)
    role = current_user.role
    status = item.fields.get("status")
    comments = sync_service.thread(current_user, rtype, record_id) or []
    mark = review.mark_of(current_user, rtype, record_id)
    finished = status in TYPES[rtype].milestone and getattr(row, MILESTONE_COLUMNS.get(rtype, ""), None)
    shown = photos.staged(photos.of_records(current_user, rtype, [row.id]).get(row.id, []), finished or None)
    return render_template(
        "township/record.html", item=item, related=related,
        thread=review.thread_views(comments), decisions=review.decision_choices(),
        mark=mark, marked_at=fmt_time(mark.marked_at) if mark else "",
        can_comment=role in TYPES["review"].writers and not item.deleted,
        gate=dispatch.task_gate(current_user, item),
        photos=shown, thumb_edge=photos.SHOWN_EDGE,
        history=records.with_photos(records.history_views(actor, rtype, row.unit_id, entries), shown,
                                    photos.removed_of(current_user, rtype, row.id)),
        field_names=list(TYPES[rtype].fields),
        can_write=role in TYPES[rtype].writers,
        can_verify=rtype == "problem" and role in TOWNSHIP_ROLES and status == "resolved",
        can_reopen=rtype == "problem" and role in TYPES["problem"].writers and status in ("resolved", "verified"))


def _related(actor, item) -> dict:
    """Records this one points at (when in scope) and the requests that point at it."""
    f, out = item.fields, {}

    def one(key, rtype, record_id):
        found = queries.records_in_scope(current_user, rtype, [record_id]).get(record_id)
        if found is not None:
            out[key] = records.view(actor, rtype, found)

    if item.rtype == "problem":
        if f.get("source_type") in ("journal", "request") and f.get("source_id"):
            one("source_id", f["source_type"], f["source_id"])
        out["requests"] = records.views(actor, "request", queries.requests_of(current_user, "problem_id", item.id))
    elif item.rtype == "request":
        if f.get("meeting_id"):
            one("meeting_id", "meeting", f["meeting_id"])
        if f.get("problem_id"):
            one("problem_id", "problem", f["problem_id"])
    elif item.rtype == "meeting":
        out["requests"] = records.views(actor, "request", queries.requests_of(current_user, "meeting_id", item.id))
    return out


def _submit_change(rtype: str, row, changes: dict, ack: bool = False) -> dict:
    """One op on a record, based on the version now on the server."""
    op = {"op": str(uuid.uuid4()), "type": rtype, "id": row.id, "base": row.version, "set": changes}
    if ack:
        op["ack"] = True
    return sync_service.submit(current_user, [op])[0]


def _checked_action(rtype: str, record_id: str, form_class=RecordActionForm):
    """The record in scope (else 404) and the posted form, or a redirect back with the reason."""
    row = queries.record(current_user, rtype, record_id)
    if row is None:
        abort(404)
    back = redirect(record_url(rtype, row.id))
    form = form_class()
    if not form.validate_on_submit():
        flash(_("The form expired. Please try again."), "error")
        return row, form, back
    seen = (form.version.data or "").strip()
    if seen and seen != str(row.version):
        flash(_("Someone changed this record while you were looking at it. Check it again below, then repeat."),
              "error")
        return row, form, back
    return row, form, None


@bp.post("/records/<rtype>/<record_id>/ack")
@township_required
def acknowledge(rtype, record_id):
    row, _form, stop = _checked_action(rtype, record_id)
    if stop is not None:
        return stop
    if not row.conflicts:
        flash(_("This record has no open conflicts."), "info")
    else:
        result = _submit_change(rtype, row, {}, ack=True)
        if result["status"] == "rejected":
            flash(labels.rejection(result["error"], rtype), "error")
        else:
            flash(_("Conflicts acknowledged. The values that lost stay in the history."), "success")
    return redirect(record_url(rtype, row.id))


@bp.post("/records/problem/<record_id>/verify")
@township_required
def verify_problem(record_id):
    row, _form, stop = _checked_action("problem", record_id)
    if stop is not None:
        return stop
    source = row.status
    if source == "verified":
        flash(_("This problem is already verified."), "info")
        return redirect(record_url("problem", row.id))
    result = _submit_change("problem", row, {"status": "verified"})
    if result["status"] == "rejected":
        flash(labels.rejection(result["error"], "problem", source=source, target="verified"), "error")
    else:
        flash(_("Problem verified."), "success")
    return redirect(record_url("problem", row.id))


@bp.post("/records/problem/<record_id>/reopen")
@township_required
def reopen_problem(record_id):
    row, form, stop = _checked_action("problem", record_id, ReopenForm)
    if stop is not None:
        return stop
    source = row.status
    if source not in ("resolved", "verified"):
        flash(_("Only a resolved or verified problem can be reopened."), "info")
        return redirect(record_url("problem", row.id))
    result = _submit_change("problem", row, {"status": "open", "reopen_reason": (form.reason.data or "").strip()})
    if result["status"] == "rejected":
        flash(labels.rejection(result["error"], "problem", source=source, target="open"), "error")
    else:
        flash(_("Problem reopened."), "success")
    return redirect(record_url("problem", row.id))
