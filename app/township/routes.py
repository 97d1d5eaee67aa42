"""Township pages. Views stay thin: reads in queries.py, revoking through the API's `revoke`,
every change to a synced record through `sync_service.submit` (the one write path)."""
from __future__ import annotations

from functools import wraps

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import device_names, labels, scope
from ..api.errors import ApiError
from ..api.routes import revoke
from ..extensions import login_manager
from ..models import utcnow
from ..names import person
from . import bp, filters, listing, photos, queries, records
from . import devices as device_list
from .forms import RevokeForm

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
    page = listing.records_page("journal", queries.journals_page, date_label=_l("Journal date"))
    return listing.render("township/journals.html", page)


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
    return render_template("township/devices.html", devices=device_list.listed(current_user))


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
                name=device_names.friendly(device.name), user=person(device.user.username)), "success")
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
    page = listing.records_page("problem", queries.problems_page, date_label=_l("Recorded"))
    return listing.render("township/problems.html", page, links=_source_links(page.items))


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
    livelihood = listing.Toggle.from_request("livelihood", _l("Livelihood projects only"))
    page = listing.records_page("request", lambda user, f: queries.requests_page(user, f, livelihood.checked),
                                date_label=_l("Recorded"), toggles=[livelihood])
    actor = records.request_actor()
    linked = {rtype: {i: records.view(actor, rtype, row) for i, row in queries.records_in_scope(
        current_user, rtype, [r.fields.get(f"{rtype}_id") for r in page.items]).items()}
        for rtype in ("meeting", "problem")}
    return listing.render("township/requests.html", page, meetings=linked["meeting"], problems=linked["problem"])


@bp.get("/meetings")
@township_required
def meetings():
    page = listing.records_page("meeting", queries.meetings_page, date_label=_l("Meeting date"))
    return listing.render("township/meetings.html", page,
                          counts=queries.request_counts(current_user, [m.id for m in page.items]))


@bp.get("/tasks")
@township_required
def tasks():
    """The villages' tasks; for the township's people also their own dispatches with the screening state,
    and open tasks whose item has since left the county's list (to withdraw). Sending is on /dispatch."""
    from . import dispatch  # the gate's reads live with its routes

    villages = scope.villages(current_user)
    f = filters.parse(villages, "task")
    dispatcher = current_user.role in dispatch.DISPATCHERS
    context = dict(can_create=dispatcher, is_approver=dispatch.is_approver(current_user),
                   mine=dispatch.my_dispatches(current_user) if dispatcher else [],
                   closed=dispatch.closed_item_tasks(current_user))
    if f.unknown_village:
        return _render_list("township/tasks.html", "task", villages, f, pagination=None, items=[], **context)
    rows = queries.tasks_page(current_user, f)
    items = records.views(records.request_actor(), "task", rows.items)
    return _render_list("township/tasks.html", "task", villages, f, pagination=listing.ViewPagination(rows, items),
                        items=items, task_photos=photos.of_records(current_user, "task", [t.id for t in items]),
                        **context)
