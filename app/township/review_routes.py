"""The review queue (审阅) and comments (批注)."""
from __future__ import annotations

import datetime as dt
import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from .. import labels, scope, sync_service
from . import bp, filters, queries, review, review_digest
from .forms import MarkForm, ReviewForm
from .routes import ALLOWED_ROLES, record_url, township_required


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
        return render_template("township/review.html", queue=None, **context), 404
    queue = review.queue_page(current_user, f)
    digest = review_digest.journal_digest(current_user, f, queue.per_village) if f.page == 1 else []
    return render_template("township/review.html", queue=queue, pagination=queue.pagination, digest=digest,
                           shown_at=queue.shown_at.isoformat(), **context)


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


@bp.post("/review/mark-all")
@township_required
def mark_all():
    """Mark the whole queue read, under the filters of the query string (one village: `village=`)."""
    villages = scope.villages(current_user)
    f = filters.parse(villages, None, review.QUEUE_TYPES)
    if f.unknown_village:
        abort(404)
    form = MarkForm()
    back = _back(url_for("township.review"))
    try:
        shown_at = dt.datetime.fromisoformat((request.form.get("shown_at") or "").strip())
    except ValueError:
        shown_at = None
    if not form.validate_on_submit() or shown_at is None or shown_at.tzinfo is not None:
        flash(_("The form expired. Please try again."), "error")
        return redirect(back)
    done = review.mark_all(current_user, f, shown_at)
    if not done:
        flash(_("Nothing was marked: everything shown had been marked already."), "info")
    elif f.village is not None:
        flash(ngettext("Marked %(num)d record of %(village)s as read.",
                       "Marked %(num)d records of %(village)s as read.", done, village=f.village.name), "success")
    else:
        flash(ngettext("Marked %(num)d record as read.", "Marked %(num)d records as read.", done), "success")
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
