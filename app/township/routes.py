"""Township pages. Views stay thin: reads in queries.py, revoking through the API's `revoke`,
every change to a synced record through `sync_service.submit` (the one write path)."""
from __future__ import annotations

import uuid
from functools import wraps

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from sync.types import TYPES

from .. import scope, sync_service
from ..api.errors import ApiError
from ..api.routes import revoke
from ..extensions import login_manager
from ..models import utcnow
from . import bp, filters, labels, queries, records
from .forms import RevokeForm, TaskForm

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
