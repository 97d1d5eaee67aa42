"""The county's work-item list at the township: browse and search it, one item's history and open tasks,
the admin's import (upload, preview, confirm), and what the dispatch gate saves per month. Views stay thin:
the list in service.py, the import's steps in imports.py, the figures in stats.py."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from sync.types import FLAGS

from .. import labels, scope
from ..extensions import csrf, db, login_manager
from ..models import WORK_ITEM_STATUSES, Task, User, WorkItem
from ..reports.formats import to_csv
from ..township import filters, listing, records
from ..township.routes import fmt_time, record_url, township_required
from . import imports, parse, service, stats
from .forms import ConfirmForm, ImportForm

bp = Blueprint("worklist", __name__, url_prefix="/worklist")

OPEN_GATES = ("pending", "returned", "approved")
MAX_MB = imports.MAX_BYTES // (1024 * 1024)
ACTION_LABELS = {"added": _l("Added"), "updated": _l("Updated"), "retired": _l("Retired")}
FIGURE_LABELS = {
    "sent": _l("Tasks sent down"), "on_list": _l("On-list tasks"), "off_list": _l("Off-list tasks"),
    "approved": _l("Approved"), "rejected": _l("Rejected"), "returned": _l("Returned for revision"),
    "duplicates_stopped": _l("Duplicates stopped"), "hours": _l("Estimated hours sent"),
}


def admin_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.role != "admin":
            abort(403)
        return view(*args, **kwargs)
    return wrapped


def item_value(name: str, value) -> str:
    """A work item's field as text for people."""
    if value is None or value == "":
        return "—"
    if name == "status":
        return labels.item_status_label(value)
    if name == "effort_hours":
        return stats.hours_text(value)
    return str(value)


@bp.context_processor
def helpers():
    return {"fmt_time": fmt_time, "record_url": record_url, "labels": labels, "item_value": item_value,
            "hours_text": stats.hours_text}


def _county():
    return service.county_of(current_user.unit)


# ---------------------------------------------------------------- the list and one item

@bp.get("", strict_slashes=False)
@township_required
def items():
    f = filters.parse_plain(WORK_ITEM_STATUSES)
    rows = service.search(_county(), f.q, (f.status,) if f.status else None, limit=None)
    page = listing.ListPage(endpoint="worklist.items", filters=f, pagination=listing.ListPagination(rows, f.page),
                            statuses=[(s, labels.item_status_label(s)) for s in WORK_ITEM_STATUSES],
                            search_placeholder=_("Code or words"))
    page.items = page.pagination.items
    return listing.render("worklist/items.html", page, is_admin=current_user.role == "admin")


@bp.get("/items/<code>")
@township_required
def item(code):
    if "\x00" in code or len(code) > 32:
        abort(404)
    found = db.session.scalar(select(WorkItem).where(WorkItem.county_id == _county().id, WorkItem.code == code))
    if found is None:
        abort(404)
    history = service.history(found)
    people = dict(db.session.execute(select(User.id, func.coalesce(User.display_name, User.username)).where(
        User.id.in_({c.by_user for c in history if c.by_user is not None}))).all()) if history else {}
    tasks = records.views(records.request_actor(), "task", db.session.scalars(
        scope.scoped(Task, current_user)
        .where(Task.item_code == found.code, Task.origin == "township", Task.deleted.is_(False),
               Task.status != "done", Task.gate.in_(OPEN_GATES))
        .options(selectinload(Task.unit)).order_by(Task.created_at.desc(), Task.id).limit(200)))
    changes = [(change, imports.changed_fields(change.before, change.after)) for change in reversed(history)]
    return render_template("worklist/item.html", item=found, changes=changes, people=people, tasks=tasks,
                           actions=ACTION_LABELS, fields=imports.FIELD_LABELS)


# ---------------------------------------------------------------- the admin's import

@bp.get("/import")
@admin_required
def import_form():
    return render_template("worklist/import.html", form=ImportForm(), errors=[], problem=None, max_mb=MAX_MB)


def _refuse(form, problem: str, errors=(), status: int = 400):
    return render_template("worklist/import.html", form=form, errors=list(errors), problem=problem,
                           max_mb=MAX_MB), status


@bp.post("/import")
@admin_required
def upload():
    """Read and check the file, keep it, show what it would change. Changes nothing."""
    too_big = _("The file is larger than %(mb)d MB. A county's list is far smaller: check that this is the list.",
                mb=MAX_MB)
    request.max_content_length = imports.MAX_BYTES + 64 * 1024   # the form's own fields and boundaries
    if (request.content_length or 0) > request.max_content_length:
        return _refuse_unread(too_big)
    try:
        form = ImportForm()
        valid = form.validate_on_submit()
    except RequestEntityTooLarge:
        return _refuse_unread(too_big)
    if not valid:
        if "csrf_token" in form.errors:
            return _refuse(form, _("The form expired. Please try again."))
        return _refuse(form, next(iter(form.file.errors), _("Choose the file of the list.")))
    data = form.file.data.read(imports.MAX_BYTES + 1)
    if len(data) > imports.MAX_BYTES:
        return _refuse(form, too_big, status=413)
    filename = form.file.data.filename or "list.csv"
    try:
        parsed = parse.read(filename, data)
    except parse.UnreadableFile as error:
        return _refuse(form, str(error))
    if parsed.errors:
        return _refuse(form, _errors_text(len(parsed.errors)), parsed.errors)
    county = _county()
    stored = imports.save(filename, data, current_user.id, county.id)
    preview = imports.preview(county, service.plan(county, parsed.items), stored.sha256)
    return _preview(stored, preview)


def _refuse_unread(problem: str):
    """Refuse a body too large to read. The page's other forms (the log-out button) must not try to read
    it either: the request's form and files are set to empty, as Werkzeug caches them once parsed."""
    request.__dict__.update(form=ImmutableMultiDict(), files=ImmutableMultiDict())
    return _refuse(ImportForm(formdata=None), problem, status=413)


def _errors_text(count: int) -> str:
    return ngettext("The file has %(num)d error; nothing was changed. Correct it and upload the file again.",
                    "The file has %(num)d errors; nothing was changed. Correct them and upload the file again.",
                    count)


def _preview(stored: imports.Upload, preview: imports.Preview, problem: str | None = None, status: int = 200):
    form = ConfirmForm(formdata=None, upload=stored.id, digest=preview.digest)
    return render_template("worklist/preview.html", upload=stored, preview=preview, form=form, problem=problem,
                           fields=imports.FIELD_LABELS), status


@bp.post("/import/confirm")
@admin_required
def confirm():
    """Apply the previewed plan: the same stored bytes, planned again against the list as it is now;
    if the list changed since the preview, nothing is applied and the new preview is shown."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash(_("The form expired. Please try again."), "error")
        return redirect(url_for("worklist.import_form"))
    county = _county()
    try:
        stored = imports.load(form.upload.data, current_user.id, county.id)
    except imports.UploadGone:
        flash(_("This upload is no longer here: it was imported already, or it is more than a day old. "
                "Upload the file again."), "error")
        return redirect(url_for("worklist.import_form"))
    except imports.UploadAltered:
        imports.discard(form.upload.data)
        flash(_("The stored file was altered after the preview, so nothing was imported. Upload it again."), "error")
        return redirect(url_for("worklist.import_form"))
    imports.lock_county(county)
    parsed = parse.read(stored.filename, stored.data)
    the_plan = service.plan(county, parsed.items)
    preview = imports.preview(county, the_plan, stored.sha256)
    if parsed.errors or preview.digest != form.digest.data:
        db.session.rollback()
        return _preview(stored, preview, _("The list changed after your preview (another import?), so nothing "
                                           "was imported. Here is what the file would change now."), 409)
    import_id = service.apply(county, the_plan, current_user.id, f"upload:{stored.filename}")
    db.session.commit()
    imports.discard(stored.id)
    flash(_("Imported “%(file)s”: %(added)d added, %(updated)d updated, %(retired)d retired, %(unchanged)d unchanged "
            "(import %(id)s).", file=stored.filename, added=len(the_plan.added), updated=len(the_plan.updated),
            retired=len(the_plan.retired), unchanged=the_plan.unchanged, id=import_id[:8]), "success")
    return redirect(url_for("worklist.items"))


# ---------------------------------------------------------------- what the gate saves

@bp.get("/stats")
@township_required
def month_stats():
    try:
        month = stats.Month.parse(request.args.get("month"))
    except ValueError:
        abort(400, _("The month must look like 2026-11."))
    villages = scope.villages(current_user)
    figures = stats.month_figures(villages, _county(), month)
    if request.args.get("format") == "csv":
        by = "sender" if request.args.get("by") == "sender" else "village"
        return Response(to_csv(_csv_cells(figures, by)), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename=zhucun-gate-{month.label}-{by}.csv"})
    return render_template("worklist/stats.html", figures=figures, month=month, counts=stats.COUNTS, flags=FLAGS,
                           labels_=FIGURE_LABELS, several_townships=len({v.parent_id for v in villages}) > 1)


def _figure_headers() -> list[str]:
    return ([str(FIGURE_LABELS[name]) for name in stats.COUNTS] + [str(FIGURE_LABELS["hours"])]
            + [_("Flagged: %(kind)s", kind=labels.flag_label(kind)) for kind in FLAGS])


def _figure_cells(figures: dict) -> list:
    return ([figures[name] for name in stats.COUNTS] + [stats.hours_text(figures["hours"])]
            + [figures[f"flag_{kind}"] for kind in FLAGS])


def _csv_cells(figures: stats.Figures, by: str) -> list[list]:
    if by == "sender":
        header = [_("Sent by"), _("Unit")] + _figure_headers()
        return [header] + [[r.key, r.name] + _figure_cells(r.figures) for r in figures.senders]
    header = [_("Village"), _("Code"), _("Township")] + _figure_headers()
    body = [[r.name, r.key, r.group] + _figure_cells(r.figures) for r in figures.villages]
    return [header, *body, [_("Total"), "", ""] + _figure_cells(figures.totals)]


csrf.exempt(upload)  # the form checks its own CSRF token, after the upload's size limit is set
