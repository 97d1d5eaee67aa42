"""Township pages. Views stay thin: reads in queries.py, revoking through the API's `revoke`,
every change to a synced record through `sync_service.submit` (the one write path)."""
from __future__ import annotations

import uuid
from functools import wraps

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from sync.types import TOWNSHIP_ROLES, TYPES

from .. import scope, sync_service
from ..api.errors import ApiError
from ..api.routes import revoke
from ..extensions import login_manager
from ..models import utcnow
from . import bp, filters, labels, queries, records, review
from .forms import MarkForm, RecordActionForm, ReopenForm, ReviewForm, RevokeForm, TaskForm

ALLOWED_ROLES = ("township_staff", "township_approver", "admin")


def township_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.is_field:
            return redirect(url_for("field.home"))
        if current_user.role not in ALLOWED_ROLES:
            abort(403)
        return view(*args, **kwargs)
    return wrapped


def fmt_time(value) -> str:
    """A stored UTC time as Asia/Shanghai local time, or '' when absent."""
    local = queries.to_local(value)
    return local.strftime("%Y-%m-%d %H:%M") if local else ""


def record_url(rtype: str, record_id: str) -> str:
    return url_for("township.record", rtype=rtype, record_id=record_id)


@bp.context_processor
def township_helpers():
    return {"fmt_time": fmt_time, "record_url": record_url, "labels": labels}


@bp.get("/")
@township_required
def index():
    return redirect(url_for("township.journals"))


@bp.get("/journals")
@township_required
def journals():
    villages = scope.villages(current_user)
    f = filters.parse(villages, "journal")
    if f.unknown_village:
        return _render_list("township/journals.html", "journal", villages, f, pagination=None, village=None)
    pagination = queries.journals_page(current_user, f)
    return _render_list("township/journals.html", "journal", villages, f, pagination=pagination,
                        village=f.village)


@bp.get("/villages")
@township_required
def villages():
    rows, monday, sunday = queries.village_overview(current_user)
    return render_template("township/villages.html", rows=rows, monday=monday, sunday=sunday,
                           silent_days=queries.SILENT_AFTER.days, request_wait=queries.REQUEST_WAIT.days,
                           now_local=fmt_time(utcnow()))


@bp.get("/devices")
@township_required
def devices():
    return render_template("township/devices.html", devices=queries.devices(current_user))


@bp.post("/devices/<device_id>/revoke")
@township_required
def revoke_device(device_id):
    form = RevokeForm()
    if not form.validate_on_submit():
        flash(_("The form expired. Please try again."), "error")
        return redirect(url_for("township.devices"))
    try:
        device = revoke(current_user, device_id)
    except ApiError as error:
        messages = {403: _("You may not revoke devices."),
                    404: _("No such device in your scope.")}
        flash(messages.get(error.status, error.message), "error")
    else:
        flash(_("Device “%(name)s” of %(user)s is revoked. It can sync again only after a new login.",
                name=device.name, user=device.user.username), "success")
    return redirect(url_for("township.devices"))


# ---------------------------------------------------------------- lists: problems, requests, meetings, tasks

def _render_list(template: str, rtype: str | None, villages, f: filters.Filters, **context):
    """A list page with its filter form; an unknown or out-of-scope village is a 404 that shows nothing,
    so other townships' codes leak nothing."""
    page = render_template(template, villages=villages, filters=f, selected=f.code, status=f.status,
                           statuses=filters.statuses(rtype), rtype=rtype, unknown_village=f.unknown_village,
                           categories=queries.categories(current_user, rtype)
                           if rtype in filters.CATEGORY_TYPES else [],
                           args=f.args(), **context)
    return (page, 404) if f.unknown_village else page


@bp.get("/problems")
@township_required
def problems():
    villages = scope.villages(current_user)
    f = filters.parse(villages, "problem")
    if f.unknown_village:
        return _render_list("township/problems.html", "problem", villages, f, pagination=None, items=[],
                            links=set())
    pagination = queries.problems_page(current_user, f)
    items = records.views(scope.actor(current_user), "problem", pagination.items)
    links = _source_links(items)
    return _render_list("township/problems.html", "problem", villages, f, pagination=pagination, items=items,
                        links=links)


def _source_links(problems) -> set:
    """(type, id) of the problems' source records that are in scope, so only those get a link."""
    links = set()
    for rtype in ("journal", "request"):
        ids = [p.fields.get("source_id") for p in problems if p.fields.get("source_type") == rtype]
        links |= {(rtype, i) for i in queries.records_in_scope(current_user, rtype, ids)}
    return links


@bp.get("/requests")
@township_required
def requests():
    villages = scope.villages(current_user)
    f = filters.parse(villages, "request")
    livelihood = request.args.get("livelihood") == "1"
    if livelihood:
        f.extra["livelihood"] = "1"
    if f.unknown_village:
        return _render_list("township/requests.html", "request", villages, f, pagination=None, items=[],
                            livelihood=livelihood, meetings={}, problems={})
    pagination = queries.requests_page(current_user, f, livelihood)
    actor = scope.actor(current_user)
    items = records.views(actor, "request", pagination.items)
    meetings = {i: records.view(actor, "meeting", row) for i, row in queries.records_in_scope(
        current_user, "meeting", [r.fields.get("meeting_id") for r in items]).items()}
    problems_ = {i: records.view(actor, "problem", row) for i, row in queries.records_in_scope(
        current_user, "problem", [r.fields.get("problem_id") for r in items]).items()}
    return _render_list("township/requests.html", "request", villages, f, pagination=pagination, items=items,
                        livelihood=livelihood, meetings=meetings, problems=problems_)


@bp.get("/meetings")
@township_required
def meetings():
    villages = scope.villages(current_user)
    f = filters.parse(villages, "meeting")
    if f.unknown_village:
        return _render_list("township/meetings.html", "meeting", villages, f, pagination=None, items=[],
                            counts={})
    pagination = queries.meetings_page(current_user, f)
    items = records.views(scope.actor(current_user), "meeting", pagination.items)
    counts = queries.request_counts(current_user, [m.id for m in items])
    return _render_list("township/meetings.html", "meeting", villages, f, pagination=pagination, items=items,
                        counts=counts)


@bp.route("/tasks", methods=["GET", "POST"])
@township_required
def tasks():
    villages = scope.villages(current_user)
    form = TaskForm()
    form.village.choices = [(v.code, f"{v.name} ({v.code})") for v in villages]
    error, status_code = None, 200
    if request.method == "POST":
        result = _create_task(form)
        if result is not None and result.get("status") != "rejected":
            flash(_("Task “%(title)s” sent to %(village)s.", title=(form.title.data or "").strip(),
                    village=next((v.name for v in villages if v.code == form.village.data), form.village.data)),
                  "success")
            return redirect(url_for("township.record", rtype="task", record_id=result["id"]))
        error = (_("The form expired. Please try again.") if result is None
                 else labels.rejection(result["error"], "task"))
        status_code = 400
    f = filters.parse(villages, "task")
    context = dict(form=form, people=queries.village_people(current_user), form_error=error,
                   can_create=current_user.role in TYPES["task"].writers)
    if f.unknown_village:
        return _render_list("township/tasks.html", "task", villages, f, pagination=None, items=[], **context)
    pagination = queries.tasks_page(current_user, f)
    items = records.views(scope.actor(current_user), "task", pagination.items)
    page_html = _render_list("township/tasks.html", "task", villages, f, pagination=pagination, items=items,
                             **context)
    return page_html, status_code


def _create_task(form: TaskForm) -> dict | None:
    """Submit the new task as an op; None when the form itself (CSRF) failed."""
    if not form.validate_on_submit():
        return None
    fields = {"title": form.title.data or ""}
    for name in ("detail", "due", "assignee", "week", "item_code"):
        value = (getattr(form, name).data or "").strip()
        if value:
            fields[name] = value
    op = {"op": str(uuid.uuid4()), "type": "task", "id": str(uuid.uuid4()), "base": None,
          "unit": form.village.data or "", "set": fields}
    result = sync_service.submit(current_user, [op])[0]
    return {**result, "id": op["id"]}


# ---------------------------------------------------------------- one record: fields, conflicts, history

@bp.get("/records/<rtype>/<record_id>")
@township_required
def record(rtype, record_id):
    row = queries.record(current_user, rtype, record_id)
    entries = sync_service.history(current_user, rtype, record_id) if row is not None else None
    if row is None or entries is None:
        abort(404)
    actor = scope.actor(current_user)
    item = records.view(actor, rtype, row)
    related = _related(actor, item)
    people = queries.usernames([row.created_by, row.updated_by])
    role = current_user.role
    status = item.fields.get("status")
    comments = sync_service.thread(current_user, rtype, record_id) or []
    mark = review.mark_of(current_user, rtype, record_id)
    return render_template(
        "township/record.html", item=item, related=related,
        thread=review.thread_views(comments), decisions=review.decision_choices(),
        mark=mark, marked_at=fmt_time(mark.marked_at) if mark else "",
        can_comment=role in TYPES["review"].writers and not row.deleted,
        created_by=people.get(row.created_by, ""), updated_by=people.get(row.updated_by, ""),
        history=records.history_views(actor, rtype, row.unit_id, entries),
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


# ---------------------------------------------------------------- the review queue (审阅) and comments (批注)

@bp.app_context_processor
def review_count_helper():
    """The queue's size for the navigation; a function, so only pages that show the nav pay for it."""
    def review_queue_count() -> int:
        if not current_user.is_authenticated or current_user.role not in ALLOWED_ROLES:
            return 0
        return review.queue_count(current_user)
    return {"review_queue_count": review_queue_count}


@bp.get("/review", endpoint="review")
@township_required
def review_queue():
    villages = scope.villages(current_user)
    f = filters.parse(villages, None, review.QUEUE_TYPES)
    context = dict(villages=villages, filters=f, selected=f.code, args=f.args(), types=review.QUEUE_TYPES,
                   decisions=review.decision_choices(), statuses=filters.statuses(f.rtype or None),
                   status=f.status, rtype=f.rtype or None, unknown_village=f.unknown_village,
                   categories=queries.categories(current_user, f.rtype)
                   if f.rtype in filters.CATEGORY_TYPES else [])
    if f.unknown_village:
        return render_template("township/review.html", pagination=None, groups=[], **context), 404
    pagination, groups, _counts = review.queue_page(current_user, f)
    shown = sum(len(group.items) for group in groups)
    return render_template("township/review.html", pagination=pagination, groups=groups, shown=shown, **context)


def _back(default: str) -> str:
    """Where a form came from (only a township page of this site), else `default`."""
    target = (request.form.get("next") or "").strip()
    if target.startswith("/township/") and "//" not in target and "\\" not in target:
        return target
    return default


def _parse_item(value: str) -> tuple[str, str, int | None] | None:
    rtype, _sep, rest = (value or "").partition(":")
    record_id, _sep, version = rest.partition(":")
    if rtype not in review.QUEUE_TYPES or not record_id:
        return None
    return rtype, record_id, int(version) if version.isascii() and version.isdecimal() else None


@bp.post("/review/mark")
@township_required
def mark_reviewed():
    form = MarkForm()
    back = _back(url_for("township.review"))
    if not form.validate_on_submit():
        flash(_("The form expired. Please try again."), "error")
        return redirect(back)
    wanted = [item for item in map(_parse_item, request.form.getlist("item")[:500]) if item]
    done = review.mark(current_user, wanted)
    if not wanted or not done:
        flash(_("Nothing was marked: the records are not in your area."), "error")
    elif len(wanted) == 1:
        flash(_("Marked as reviewed. It comes back here if it changes."), "success")
    else:
        flash(ngettext("%(num)d record marked as reviewed.", "%(num)d records marked as reviewed.", done),
              "success")
    return redirect(back)


@bp.post("/review/comment")
@township_required
def comment():
    form = ReviewForm()
    rtype = (form.target_type.data or "").strip()
    row = queries.record(current_user, rtype, (form.target_id.data or "").strip())
    if row is None:
        abort(404)
    back = _back(record_url(rtype, row.id))
    if not form.validate_on_submit():
        flash(_("The form expired. Please try again."), "error")
        return redirect(back)
    fields = {"target_type": rtype, "target_id": row.id, "comment": (form.comment.data or "").strip()}
    decision = (form.decision.data or "").strip()
    if decision:
        fields["decision"] = decision
    reply_to = (form.reply_to.data or "").strip()
    if reply_to:
        fields["reply_to"] = reply_to
    result = sync_service.submit(current_user, [
        {"op": str(uuid.uuid4()), "type": "review", "id": str(uuid.uuid4()), "base": None, "set": fields}])[0]
    if result["status"] == "rejected":
        flash(labels.rejection(result["error"], "review"), "error")
        return redirect(back)
    seen = (form.version.data or "").strip()
    review.mark(current_user, [(rtype, row.id, int(seen) if seen.isascii() and seen.isdecimal() else None)])
    flash(_("Comment sent to %(village)s. The village sees it on the phone at its next sync.",
            village=row.unit.name), "success")
    return redirect(back)
