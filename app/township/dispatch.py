"""Dispatching township tasks through the gate (派单过筛): the dispatch form, the approver's queue,
the author's revision and withdrawal, tasks whose item left the county's list.

Views stay thin and the rules stay in one place: every change is an op through `sync_service.submit`,
and the engine's gate (sync/gate.py) decides what may pass; this module only gathers what the person
asked for, sends it, and says per village what happened. Every read is scoped (app.scope).
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from sync.types import APPROVERS, OFFLIST_REASON_MIN, TOWNSHIP_ROLES, TYPES

from .. import labels, scope, sync_service
from ..extensions import db
from ..models import Task, Unit, User, WorkItem, utcnow
from ..worklist import service as worklist
from . import bp, queries, records
from .forms import DecisionForm, DispatchForm, ReviseForm, WithdrawForm
from .routes import ALLOWED_ROLES, record_url, township_required

DISPATCHERS = TOWNSHIP_ROLES & TYPES["task"].writers   # who may send a township task
OPEN_GATES = ("pending", "returned", "approved")
DECISIONS = {"approve": "approved", "reject": "rejected", "return": "returned"}
MAX_QUEUE = 500            # pending tasks read for the approver's queue; a township has far fewer
MAX_DECIDE = 500
MY_DAYS = 30               # the author's view: open screening, plus everything of the last 30 days
MY_DISPATCHES = 20
SEARCH_LIMIT = 20


def is_approver(user: User) -> bool:
    return user.role in APPROVERS


# ---------------------------------------------------------------- reads

def township_tasks(user: User):
    """A select of the live township tasks of the user's villages."""
    return scope.scoped(Task, user).where(Task.origin == "township", Task.deleted.is_(False))


def county_items(user: User, codes) -> dict[str, WorkItem]:
    """{code: item} of the user's county for `codes` (any status: a cancelled item still has a name)."""
    codes = {c for c in codes if c}
    if not codes:
        return {}
    county = worklist.county_of(user.unit)
    query = select(WorkItem).where(WorkItem.county_id == county.id, WorkItem.code.in_(codes))
    return {item.code: item for item in db.session.scalars(query)}


def find_item(user: User, code: str) -> WorkItem | None:
    """The county's item with this code, ignoring case and spaces around it (any status)."""
    code = _clean(code)
    if not code:
        return None
    county = worklist.county_of(user.unit)
    return db.session.scalar(select(WorkItem).where(WorkItem.county_id == county.id,
                                                    func.upper(WorkItem.code) == code.upper()))


@dataclass
class GateTask:
    """One village's task of a dispatch, with what the viewer may do with it."""
    view: records.RecordView
    duplicate: records.RecordView | None = None   # the earlier task it repeats, when in scope
    duplicate_missing: bool = False               # it names one that is gone or out of scope
    can_decide: bool = False
    can_revise: bool = False
    can_withdraw: bool = False
    own_offlist: bool = False                     # the viewer wrote this off-list task: another approver decides

    @property
    def id(self) -> str:
        return self.view.id

    @property
    def version(self) -> int:
        return self.view.version

    @property
    def village_name(self) -> str:
        return self.view.village_name

    @property
    def fields(self) -> dict:
        return self.view.fields

    @property
    def gate(self) -> str:
        return self.fields.get("gate") or "approved"

    @property
    def gate_text(self) -> str:
        return labels.gate_label(self.gate)

    @property
    def clean(self) -> bool:
        """On the list and repeating nothing: may be approved in a batch without a reason."""
        return bool(self.fields.get("item_code")) and not self.fields.get("duplicate_of")

    @property
    def token(self) -> str:
        """What a decision form posts for it: the id and the version shown."""
        return f"{self.id}:{self.version}"


def permissions(user: User, view: records.RecordView) -> dict:
    f = view.fields
    township = f.get("origin") == "township" and not view.deleted
    gate = f.get("gate") or "approved"
    mine = view.created_by == user.id
    offlist = not f.get("item_code")
    return {
        "can_decide": township and gate == "pending" and is_approver(user) and not (offlist and mine),
        "own_offlist": township and gate == "pending" and is_approver(user) and offlist and mine,
        "can_revise": township and gate == "returned" and mine and user.role in DISPATCHERS,
        "can_withdraw": (township and gate in OPEN_GATES and f.get("status") != "done"
                         and user.role in DISPATCHERS and (mine or is_approver(user))),
    }


def gate_tasks(user: User, rows) -> list[GateTask]:
    return gate_views(user, records.views(records.actor_of(user), "task", rows))


def gate_views(user: User, views: list[records.RecordView]) -> list[GateTask]:
    """The tasks with the earlier task each repeats (when in scope) and what the user may do with them."""
    actor = records.actor_of(user)
    wanted = {v.fields.get("duplicate_of") for v in views}
    found = queries.records_in_scope(user, "task", wanted)
    earlier = {i: records.view(actor, "task", r) for i, r in found.items()}
    out = []
    for v in views:
        dup = v.fields.get("duplicate_of")
        out.append(GateTask(view=v, duplicate=earlier.get(dup), duplicate_missing=bool(dup) and dup not in earlier,
                            **permissions(user, v)))
    return out


def waited_text(delta: dt.timedelta) -> str:
    """How long something has waited: hours for the first two days, then days."""
    hours = max(int(delta.total_seconds() // 3600), 0)
    if hours < 1:
        return _("less than an hour")
    if hours < 48:
        return ngettext("%(num)d hour", "%(num)d hours", hours)
    return ngettext("%(num)d day", "%(num)d days", hours // 24)


@dataclass
class Dispatch:
    """One dispatch (派单): the tasks, one per village, that share a dispatch_id."""
    key: str
    tasks: list[GateTask]
    item: WorkItem | None
    author: str
    now: dt.datetime = field(default_factory=utcnow)

    @property
    def first(self) -> GateTask:
        return self.tasks[0]

    @property
    def fields(self) -> dict:
        return self.first.fields

    @property
    def title(self) -> str:
        return self.fields.get("title") or ""

    @property
    def created_at(self) -> dt.datetime:
        return min(t.view.created_at for t in self.tasks)

    @property
    def due(self) -> str | None:
        dues = [t.fields.get("due") for t in self.tasks if t.fields.get("due")]
        return min(dues) if dues else None

    @property
    def waited(self) -> dt.timedelta:
        return self.now - self.created_at

    @property
    def waited_text(self) -> str:
        return waited_text(self.waited)

    @property
    def overdue(self) -> bool:
        return bool(self.due) and self.due < queries.local_today(self.now).isoformat()

    @property
    def offlist(self) -> bool:
        return not self.fields.get("item_code")

    @property
    def has_duplicate(self) -> bool:
        return any(t.fields.get("duplicate_of") for t in self.tasks)

    @property
    def clean(self) -> bool:
        return all(t.clean for t in self.tasks)

    @property
    def decidable(self) -> list[GateTask]:
        return [t for t in self.tasks if t.can_decide]

    @property
    def bulk_token(self) -> str:
        return ",".join(t.token for t in self.decidable)

    @property
    def effort_total(self) -> float | None:
        hours = self.item.effort_hours if self.item is not None else None
        return hours * len(self.tasks) if hours is not None else None

    def gate_counts(self) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        for t in self.tasks:
            counts[t.gate] = counts.get(t.gate, 0) + 1
        return [(g, counts[g]) for g in ("returned", "pending", "rejected", "approved", "withdrawn") if g in counts]


def group(user: User, tasks: list[GateTask], now: dt.datetime | None = None) -> list[Dispatch]:
    now = now or utcnow()
    grouped: dict[str, list[GateTask]] = {}
    for t in tasks:
        grouped.setdefault(t.fields.get("dispatch_id") or t.id, []).append(t)
    items = county_items(user, {t.fields.get("item_code") for t in tasks})
    out = []
    for key, members in grouped.items():
        members.sort(key=lambda t: (t.view.village_code, t.view.created_at))
        out.append(Dispatch(key=key, tasks=members, item=items.get(members[0].fields.get("item_code")),
                            author=members[0].view.author, now=now))
    return out


def approval_queue(user: User, now: dt.datetime | None = None) -> list[Dispatch]:
    """The township's pending tasks, one entry per dispatch; the nearest due date first (none last),
    then the longest waiting. Every approver of the township sees the same queue."""
    rows = db.session.scalars(township_tasks(user).where(Task.gate == "pending")
                              .options(selectinload(Task.unit)).order_by(Task.created_at, Task.id).limit(MAX_QUEUE))
    dispatches = group(user, gate_tasks(user, list(rows)), now)
    dispatches.sort(key=lambda d: (d.due is None, d.due or "", d.created_at, d.key))
    return dispatches


def approvals_count(user: User) -> int:
    """Dispatches waiting for an approver (for the navigation)."""
    query = (township_tasks(user).where(Task.gate == "pending")
             .with_only_columns(func.count(func.distinct(func.coalesce(Task.dispatch_id, Task.id)))))
    return db.session.scalar(query) or 0


def my_dispatches(user: User, now: dt.datetime | None = None) -> list[Dispatch]:
    """The user's own dispatches: those still in screening, and everything of the last 30 days;
    returned ones (the author's turn) first, then pending, then newest."""
    now = now or utcnow()
    rows = db.session.scalars(
        township_tasks(user).where(Task.created_by == user.id,
                                   or_(Task.gate.in_(("pending", "returned")),
                                       Task.created_at >= now - dt.timedelta(days=MY_DAYS)))
        .options(selectinload(Task.unit)).order_by(Task.created_at.desc(), Task.id).limit(MY_DISPATCHES * 20))
    dispatches = group(user, gate_tasks(user, list(rows)), now)
    dispatches.sort(key=lambda d: (not any(t.gate == "returned" for t in d.tasks),
                                   not any(t.gate == "pending" for t in d.tasks), -d.created_at.timestamp()))
    return dispatches[:MY_DISPATCHES]


def flagged_tasks(user: User, limit: int = 100) -> list[GateTask]:
    """Township tasks a village flagged (duplicate, off-list, unclear, burden) that are still open, oldest first:
    the villages' word upward, for the approver to answer in the task's comments."""
    rows = db.session.scalars(
        township_tasks(user).where(Task.flag.is_not(None), Task.status != "done", Task.gate == "approved")
        .options(selectinload(Task.unit)).order_by(Task.updated_at, Task.id).limit(limit))
    return gate_tasks(user, list(rows))


def closed_item_tasks(user: User) -> list[tuple[GateTask, WorkItem]]:
    """Open tasks of the user's villages whose item was cancelled or retired after they were sent."""
    county = worklist.county_of(user.unit)
    pairs = worklist.open_tasks_of_closed_items(county, list(scope.village_ids(user)))
    views = {t.id: t for t in gate_tasks(user, [task for task, _item in pairs])}
    return [(views[task.id], item) for task, item in pairs]


def dispatch_siblings(user: User, task_id: str, dispatch_id: str | None) -> list[Task]:
    """The other live tasks of the same dispatch in the user's villages."""
    if not dispatch_id:
        return []
    return list(db.session.scalars(township_tasks(user).where(Task.dispatch_id == dispatch_id, Task.id != task_id)
                                   .options(selectinload(Task.unit)).join(Unit, Unit.id == Task.unit_id)
                                   .order_by(Unit.code)))


@bp.app_context_processor
def approvals_helpers():
    """The approver's queue size for the navigation; a function, so only pages with the nav pay for it."""
    def approvals_waiting() -> int:
        if not current_user.is_authenticated or current_user.role not in ALLOWED_ROLES:
            return 0
        return approvals_count(current_user)
    return {"approvals_waiting": approvals_waiting}


@dataclass
class TaskGateView:
    """The screening part of a task's record page."""
    task: GateTask
    item: WorkItem | None
    siblings: list[GateTask]
    flag: str
    flag_note: str


def task_gate(user: User, item: records.RecordView) -> TaskGateView | None:
    """The screening panel of a township task's record page; None for any other record."""
    f = item.fields
    if item.rtype != "task" or f.get("origin") != "township":
        return None
    task = gate_views(user, [item])[0]
    siblings = gate_tasks(user, dispatch_siblings(user, item.id, f.get("dispatch_id")))
    return TaskGateView(task=task, item=county_items(user, [f.get("item_code")]).get(f.get("item_code")),
                        siblings=siblings, flag=labels.flag_label(f.get("flag")) if f.get("flag") else "",
                        flag_note=f.get("flag_note") or "")


# ---------------------------------------------------------------- helpers for the forms

def _back(default: str) -> str:
    """Where a form came from (only a township page of this site), else `default`."""
    target = (request.form.get("next") or "").strip()
    if target.startswith("/township/") and "//" not in target and "\\" not in target:
        return target
    return default


def _version(value) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdecimal() and len(value) < 10 else None


def _tokens(values) -> list[tuple[str, int | None]]:
    """"id:version" values (and comma-separated lists of them) as (id, version), each id once."""
    out: dict[str, int | None] = {}
    for value in values:
        for part in (value or "").split(","):
            record_id, _sep, version = part.strip().partition(":")
            if record_id and len(record_id) <= 64 and "\x00" not in record_id and record_id not in out:
                out[record_id] = _version(version)
    return list(out.items())[:MAX_DECIDE]


def _names(units) -> str:
    return _(", ").join(u.name if isinstance(u, Unit) else str(u) for u in units)


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except (ValueError, AttributeError, TypeError):
        return False


def _clean(value) -> str:
    """A form value without NUL characters (no database stores them) and surrounding spaces."""
    return (value or "").replace("\x00", "").strip()


def _task_fields(form, item: WorkItem | None) -> dict:
    """The task's fields from the form: the item or the off-list reason, never both."""
    fields = {"title": _clean(form.title.data)}
    for name in ("detail", "due", "week", "support_department"):
        value = _clean(getattr(form, name).data)
        if value:
            fields[name] = value
    if form.offlist:
        fields["offlist_reason"] = _clean(form.offlist_reason.data)
    else:
        typed = _clean(form.item_code.data)
        fields["item_code"] = item.code if item is not None else typed
    return fields


def _sent_message(title: str, by_gate: dict[str, list]) -> list[str]:
    out = []
    if by_gate.get("approved"):
        out.append(_("“%(title)s” is approved and reaches %(villages)s at their next sync.",
                     title=title, villages=_names(by_gate["approved"])))
    if by_gate.get("pending"):
        out.append(_("“%(title)s” waits for the approver's screening before it reaches %(villages)s.",
                     title=title, villages=_names(by_gate["pending"])))
    return out


# ---------------------------------------------------------------- the dispatch form

@dataclass
class Outcome:
    sent: list = field(default_factory=list)      # (unit, task id, gate)
    failed: list = field(default_factory=list)    # (unit or code, message)


@bp.route("/dispatch", methods=["GET", "POST"])
@township_required
def dispatch():
    if current_user.role not in DISPATCHERS:
        abort(403)
    villages = scope.villages(current_user)
    form = DispatchForm()
    chosen = set(request.form.getlist("villages")) if request.method == "POST" else set()
    people = queries.village_people(current_user)
    results, searched, form_error, assignee_error, outcome, status = [], False, None, None, None, 200
    if request.method == "GET":
        form.mode.data = "offlist" if request.args.get("mode") == "offlist" else "list"
        form.item_code.data = _clean(request.args.get("item"))[:32]
        form.dispatch_id.data = str(uuid.uuid4())
        code = _clean(request.args.get("village"))
        chosen = {code} if code else set()
    elif not form.validate_on_submit():
        form_error, status = _("The form expired. Please try again."), 400
    elif request.form.get("pick"):
        form.item_code.data, form.mode.data = _clean(request.form.get("pick"))[:32], "list"
    elif request.form.get("action") == "search":
        results = worklist.search(worklist.county_of(current_user.unit), _clean(form.item_q.data)[:100],
                                  ("active",), limit=SEARCH_LIMIT)
        searched = True
    elif assignee_error := _assignee_error(_clean(form.assignee.data), _codes(request.form.getlist("villages")),
                                           villages, people):
        status = 400
    else:
        form_error, outcome = _send(form, villages, request.form.getlist("villages"))
        if outcome is not None and not outcome.failed:
            title = _clean(form.title.data)
            by_gate: dict[str, list] = {}
            for unit, _task_id, gate in outcome.sent:
                by_gate.setdefault(gate, []).append(unit)
            for message in _sent_message(title, by_gate):
                flash(message, "success")
            return redirect(url_for("township.tasks", _anchor=f"dispatch-{form.dispatch_id.data}"))
        if outcome is not None:
            chosen -= {unit.code for unit, _task_id, _gate in outcome.sent}
        status = 400 if outcome is None or not outcome.sent else 200
    if not _is_uuid(form.dispatch_id.data or ""):
        form.dispatch_id.data = str(uuid.uuid4())
    item = find_item(current_user, form.item_code.data) if not form.offlist else None
    sent_codes = {unit.code for unit, _t, _g in outcome.sent} if outcome else set()
    return render_template("township/dispatch.html", form=form, villages=villages, chosen=chosen,
                           people=people, item=item, results=results, searched=searched, form_error=form_error,
                           assignee_error=assignee_error, outcome=outcome, sent_codes=sent_codes,
                           min_reason=OFFLIST_REASON_MIN, is_approver=is_approver(current_user)), status


def _send(form: DispatchForm, villages: list[Unit], codes: list[str]) -> tuple[str | None, Outcome | None]:
    """One op per chosen village, all in one submit; (a form error, None) when nothing could be sent."""
    codes = _codes(codes)
    if not codes:
        return _("Choose at least one village."), None
    assignee = _clean(form.assignee.data)
    by_code = {v.code: v for v in villages}
    dispatch_id = _dispatch_id(form.dispatch_id.data, [by_code[c].id for c in codes if c in by_code])
    form.dispatch_id.data = dispatch_id
    item = None if form.offlist else find_item(current_user, form.item_code.data)
    fields = _task_fields(form, item) | {"dispatch_id": dispatch_id}
    if assignee:
        fields["assignee"] = assignee
    ops = [{"op": str(uuid.uuid4()), "type": "task", "id": str(uuid.uuid4()), "base": None, "unit": code,
            "set": dict(fields)} for code in codes]
    results = sync_service.submit(current_user, ops)
    outcome = Outcome()
    for code, op, result in zip(codes, ops, results):
        unit = by_code.get(code, code)
        if result.get("status") in ("applied", "merged"):
            row = db.session.get(Task, op["id"])
            outcome.sent.append((unit, op["id"], row.gate if row is not None else "pending"))
        else:
            outcome.failed.append((unit, labels.rejection(result.get("error"), "task", item_code=fields.get("item_code"),
                                                          offlist=form.offlist)))
    return None, outcome


def _codes(values) -> list[str]:
    """The villages' codes a form posted, cleaned, each once, in order."""
    return list(dict.fromkeys(_clean(c)[:32] for c in values if _clean(c)))


def _assignee_error(assignee: str, codes: list[str], villages: list[Unit], people) -> str | None:
    """Why the named assignee cannot take the task, said at the field before anything is sent: the page
    offers only the chosen village's people, but a page without its script, or an old one, may post another."""
    if not assignee or not codes:
        return None
    if len(codes) > 1:
        return _("An assignee can be named only when the task goes to a single village. Leave it to the "
                 "villages, or send one village at a time.")
    village = next((v for v in villages if v.code == codes[0]), None)
    if village is None:   # not a village of the user's: the send says so, for that village
        return None
    if not any(p.username == assignee and p.unit_id == village.id for p in people):
        return _("“%(person)s” is not one of %(village)s's people. Choose one of them, or let the village decide.",
                 person=assignee[:64], village=village.name)
    return None


def _dispatch_id(wanted: str | None, unit_ids: list[int]) -> str:
    """The form's dispatch id when it is a fresh one, or one this user is still filling (a re-post for the
    villages that were not reached); a new one when it already reached one of these villages or is another's."""
    wanted = (wanted or "").strip().lower()
    if not _is_uuid(wanted):
        return str(uuid.uuid4())
    rows = db.session.execute(select(Task.unit_id, Task.created_by).where(Task.dispatch_id == wanted)).all()
    if any(created_by != current_user.id or unit_id in unit_ids for unit_id, created_by in rows):
        return str(uuid.uuid4())
    return wanted


# ---------------------------------------------------------------- the author's revision

@bp.route("/dispatch/<task_id>/revise", methods=["GET", "POST"])
@township_required
def revise_task(task_id):
    row = queries.record(current_user, "task", task_id)
    if row is None or row.deleted or row.origin != "township":
        abort(404)
    if row.created_by != current_user.id or current_user.role not in DISPATCHERS:
        abort(403)
    if row.gate != "returned":
        flash(_("Only a task returned for revision can be revised; this one is “%(gate)s”.",
                gate=labels.gate_label(row.gate)), "info")
        return redirect(record_url("task", row.id))
    actor = records.request_actor()
    task = records.view(actor, "task", row)
    sibling_rows = [s for s in dispatch_siblings(current_user, row.id, row.dispatch_id)
                    if s.gate == "returned" and s.created_by == current_user.id]
    siblings = records.views(actor, "task", sibling_rows)
    form = ReviseForm()
    results, searched, form_error, failed, status = [], False, None, [], 200
    also = set(request.form.getlist("also")) if request.method == "POST" else {s.id for s in siblings}
    if request.method == "GET":
        _fill(form, task.fields)
    elif not form.validate_on_submit():
        form_error, status = _("The form expired. Please try again."), 400
    elif request.form.get("pick"):
        form.item_code.data, form.mode.data = _clean(request.form.get("pick"))[:32], "list"
    elif request.form.get("action") == "search":
        results = worklist.search(worklist.county_of(current_user.unit), _clean(form.item_q.data)[:100],
                                  ("active",), limit=SEARCH_LIMIT)
        searched = True
    else:
        targets = [row] + [s for s in sibling_rows if s.id in also]
        failed, done = _revise(form, targets, seen=_version(form.version.data))
        if not failed:
            flash(_("Revised and sent back to the approver: %(villages)s.", villages=_names(u.unit for u in done)),
                  "success")
            return redirect(url_for("township.tasks", _anchor=f"dispatch-{row.dispatch_id or row.id}"))
        if done:
            flash(_("Revised and sent back to the approver: %(villages)s.", villages=_names(u.unit for u in done)),
                  "success")
        status = 400
    item = find_item(current_user, form.item_code.data) if not form.offlist else None
    return render_template("township/dispatch_revise.html", form=form, task=task, siblings=siblings, also=also,
                           people=[p for p in queries.village_people(current_user) if p.unit_id == row.unit_id],
                           item=item, results=results, searched=searched, form_error=form_error, failed=failed,
                           min_reason=OFFLIST_REASON_MIN, is_approver=is_approver(current_user)), status


def _fill(form: ReviseForm, f: dict) -> None:
    form.mode.data = "list" if f.get("item_code") else "offlist"
    for name in ("item_code", "offlist_reason", "support_department", "title", "detail", "due", "week", "assignee"):
        getattr(form, name).data = f.get(name) or ""
    form.version.data = ""


def _revise(form: ReviseForm, targets: list[Task], seen: int | None):
    """One op per task with only what changed (the gate puts an edited returned task back to pending);
    a task resubmitted unchanged is sent back to pending explicitly."""
    item = None if form.offlist else find_item(current_user, form.item_code.data)
    wanted = _task_fields(form, item)
    if len(targets) == 1:
        wanted["assignee"] = _clean(form.assignee.data)
    if form.offlist:
        wanted["item_code"] = ""
    else:
        wanted["offlist_reason"] = ""
    for name in ("detail", "due", "week", "support_department"):
        wanted.setdefault(name, "")
    ops, actor = [], records.request_actor()
    for number, row in enumerate(targets):
        before = records.view(actor, "task", row).fields
        changes = {name: (value or None) for name, value in wanted.items() if (value or None) != (before.get(name) or None)}
        if "item_code" in changes and "support_department" not in changes and item is not None:
            changes["support_department"] = item.department or None   # follows the new item unless named
        if not changes:
            changes = {"gate": "pending"}
        base = seen if number == 0 and seen is not None else row.version
        ops.append({"op": str(uuid.uuid4()), "type": "task", "id": row.id, "base": base, "set": changes})
    results = sync_service.submit(current_user, ops)
    failed, done = [], []
    for row, result in zip(targets, results):
        if result.get("status") in ("applied", "merged"):
            done.append(row)
        else:
            failed.append((row.unit, labels.rejection(result.get("error"), "task", item_code=wanted.get("item_code"),
                                                      offlist=form.offlist, source=row.gate, target="pending")))
    return failed, done


# ---------------------------------------------------------------- withdrawing

@bp.post("/tasks/<task_id>/withdraw")
@township_required
def withdraw_task(task_id):
    row = queries.record(current_user, "task", task_id)
    if row is None or row.deleted:
        abort(404)
    form = WithdrawForm()
    back = redirect(_back(record_url("task", row.id)))
    if not form.validate_on_submit():
        flash(_("The form expired. Please try again."), "error")
        return back
    source, reached = row.gate, bool(row.sent_on)
    changes = {"gate": "withdrawn"}
    reason = _clean(form.reason.data)
    if reason and is_approver(current_user):
        changes["gate_reason"] = reason
    seen = _version(form.version.data)
    result = sync_service.submit(current_user, [{"op": str(uuid.uuid4()), "type": "task", "id": row.id,
                                                 "base": seen if seen is not None else row.version,
                                                 "set": changes}])[0]
    if result["status"] == "rejected":
        flash(labels.rejection(result["error"], "task", source=source, target="withdrawn"), "error")
    elif reached:
        flash(_("“%(title)s” is withdrawn for %(village)s. The village sees it as withdrawn at its next sync.",
                title=row.title, village=row.unit.name), "success")
    else:
        flash(_("“%(title)s” is withdrawn for %(village)s. It never reached the village.",
                title=row.title, village=row.unit.name), "success")
    return back


# ---------------------------------------------------------------- the approver's queue

def _gate_now(row: Task) -> str | None:
    """The task's screening state now (a decision is only offered on a pending one)."""
    db.session.refresh(row)
    return row.gate


@bp.get("/approvals")
@township_required
def approvals():
    queue = approval_queue(current_user)
    return render_template("township/approvals.html", queue=queue, can_decide=is_approver(current_user),
                           is_approver=is_approver(current_user),
                           bulk=[d for d in queue if d.clean and d.decidable],
                           waiting=sum(len(d.tasks) for d in queue), flagged=flagged_tasks(current_user))


@bp.post("/approvals/decide")
@township_required
def decide():
    if not is_approver(current_user):
        abort(403)
    form = DecisionForm()
    back = redirect(_back(url_for("township.approvals")))
    if not form.validate_on_submit():
        flash(_("The form expired. Please try again."), "error")
        return back
    action = _clean(form.action.data)
    target = DECISIONS.get(action)
    if target is None:
        flash(_("Choose approve, return or reject."), "error")
        return back
    wanted = _tokens(request.form.getlist("task") + request.form.getlist("dispatch"))
    if not wanted:
        flash(_("Nothing was decided: choose at least one village's task."), "error")
        return back
    rows = {r.id: r for r in db.session.scalars(township_tasks(current_user)
                                                .where(Task.id.in_([i for i, _v in wanted]))
                                                .options(selectinload(Task.unit)))}
    reason = _clean(form.reason.data)
    ops, decided = [], []
    for record_id, version in wanted:
        row = rows.get(record_id)
        if row is None:
            continue
        changes = {"gate": target} | ({"gate_reason": reason} if reason else {})
        ops.append({"op": str(uuid.uuid4()), "type": "task", "id": row.id, "base": version, "set": changes})
        decided.append((row, row.gate, row.item_code, row.created_by))
    if len(ops) < len(wanted):
        flash(_("Some of the chosen tasks are not in your area or no longer exist; they were left out."), "error")
    results = sync_service.submit(current_user, ops) if ops else []
    done = []
    for (row, source, code, author), result in zip(decided, results):
        if result.get("status") in ("applied", "merged"):
            done.append(row.unit)
            continue
        if (result.get("error") or {}).get("code") == "stale" and (now := _gate_now(row)) != "pending":
            message = _("Not decided: meanwhile the task became “%(gate)s”.", gate=labels.gate_label(now))
        else:
            message = labels.rejection(result.get("error"), "task", source=source, target=target, item_code=code,
                                       offlist=not code, mine=author == current_user.id)
        flash(_("%(village)s, “%(title)s”: %(message)s", village=row.unit.name, title=row.title, message=message),
              "error")
    if done and target == "approved":
        flash(_("Approved for %(villages)s: the task reaches them at their next sync.", villages=_names(done)),
              "success")
    elif done and target == "rejected":
        flash(_("Rejected for %(villages)s. The author sees your reason.", villages=_names(done)), "success")
    elif done:
        flash(_("Returned to the author for revision: %(villages)s.", villages=_names(done)), "success")
    return back
