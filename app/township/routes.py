"""Township pages. Views stay thin: reads in queries.py, revoking through the API's `revoke`."""
from __future__ import annotations

from functools import wraps

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import scope
from ..api.errors import ApiError
from ..api.routes import revoke
from ..extensions import login_manager
from ..models import utcnow
from . import bp, queries
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


@bp.context_processor
def township_helpers():
    return {"fmt_time": fmt_time}


@bp.get("/")
@township_required
def index():
    return redirect(url_for("township.journals"))


@bp.get("/journals")
@township_required
def journals():
    villages = scope.villages(current_user)
    code = (request.args.get("village") or "").strip()
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    village = None
    if code:
        village = next((v for v in villages if v.code == code), None)
        if village is None:
            # Unknown or out of scope: the same answer, so other townships' codes leak nothing.
            return render_template("township/journals.html", villages=villages, selected=code,
                                   village=None, unknown_village=True, pagination=None), 404
    pagination = queries.journals_page(current_user, village, page)
    return render_template("township/journals.html", villages=villages, selected=code,
                           village=village, unknown_village=False, pagination=pagination)


@bp.get("/villages")
@township_required
def villages():
    rows, monday, sunday = queries.village_overview(current_user)
    return render_template("township/villages.html", rows=rows, monday=monday, sunday=sunday,
                           silent_days=queries.SILENT_AFTER.days,
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
