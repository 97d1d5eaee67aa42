"""Field routes. The page is a shell: the records live in the phone's IndexedDB and are drawn by the JS.

JavaScript modules are served under a versioned directory, /js/<version>/<name>, rather than with a
`?v=` query: a module's relative imports (`./db.js`) then resolve inside the same version, so a page
never mixes the modules of two releases, and the service worker can precache them exactly.
"""
from __future__ import annotations

import hashlib
import json
from functools import wraps
from pathlib import Path

from flask import Response, current_app, redirect, render_template, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from . import bp

# The modules the field shell loads (field.js imports the others; views.js, history.js and thread.js are
# loaded when a view or dialog needs them); all are precached, so every view works offline.
FIELD_MODULES = ("field.js", "db.js", "outbox.js", "sync.js", "ui.js", "pwa.js", "logout.js", "views.js", "history.js",
                 "thread.js")
# Static files (by their name under app/static) the shell needs offline.
SHELL_ASSETS = ("css/app.css", "icons/icon-192.png")
# Pages the service worker keeps for offline navigation (/offline is precached separately).
SHELL_PAGES = ("/field",)


def _version() -> str:
    return current_app.extensions["asset_version"]


@bp.app_template_global()
def module_url(name: str) -> str:
    """The versioned URL of an ES module under app/static/js."""
    return url_for("field.module", version=_version(), name=name)


def field_required(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_field:
            return redirect(url_for("township.journals"))
        return view(*args, **kwargs)
    return wrapped


def js_strings() -> dict[str, str]:
    """Every sentence the JavaScript shows, translated here so all text lives in one catalog."""
    return {
        "waiting": _("Waiting to sync"),
        "sent": _("Sent"),
        "confirmed": _("Confirmed"),
        "rejected": _("Rejected"),
        "waitingCount": _("Waiting to sync: %(n)s", n="{n}"),
        "lastSync": _("Last synced: %(time)s", time="{time}"),
        "neverSynced": _("Not synced yet"),
        "syncing": _("Syncing…"),
        "synced": _("Synced."),
        "offline": _("No signal. Entries are kept on this phone and sync when there is a connection."),
        "retry": _("Sync failed; trying again in %(s)s s.", s="{s}"),
        "serverError": _("The server could not take the entries; trying again in %(s)s s.", s="{s}"),
        "relogin": _("Log in again to sync. Entries on this phone are kept."),
        "noSession": _("Log in on this phone (with a connection) to see and sync your journal."),
        "saved": _("Saved on this phone."),
        "textRequired": _("Write what you did today."),
        "visitsInvalid": _("Households visited must be a whole number, 0 or more."),
        "editTitle": _("Edit journal entry"),
        "newTitle": _("Today's journal"),
        "visits": _("%(n)s households visited", n="{n}"),
        "by": _("by %(name)s", name="{name}"),
        "storage": _("Storage used on this phone: %(used)s of %(quota)s.", used="{used}", quota="{quota}"),
        "storageLow": _("This phone is nearly out of storage for the journal. Sync, then free some space."),
        "storageNotPersisted": _("The browser may clear this data when space is short; sync often."),
        "logoutUnsynced": _("%(n)s entries have not been synced yet. They stay on this phone and are "
                            "sent when you log in again. Log out anyway?", n="{n}"),
        "conflict": _("Also edited elsewhere; both versions are kept in the history."),
        "required": _("Fill in this field."),
        "numberInvalid": _("Enter a whole number, 0 or more."),
        "madeProblem": _("Made a problem"),
        "fromJournal": _("From the journal of %(date)s", date="{date}"),
        "source.journal": _("From a journal entry"),
        "source.request": _("From a resident's request"),
        "source.visit": _("From a household visit"),
        "source.township": _("From the township"),
        "atMeeting": _("At the meeting of %(date)s: %(topic)s", date="{date}", topic="{topic}"),
        "requestCount": _("%(n)s requests", n="{n}"),
        "urgent": _("Urgent"),
        "linkedRecord": _("(a linked record)"),
        "type.journal": _("journal entry"),
        "type.request": _("resident's request"),
        "type.visit": _("household visit"),
        "type.township": _("township"),
        "empty": _("(empty)"),
        "yes": _("yes"),
        "no": _("no"),
        "weekSum": _("This week: %(journals)s journal entries, %(visits)s households visited, %(tasks)s tasks "
                     "done, %(problems)s problems resolved, %(requests)s requests answered.",
                     journals="{journals}", visits="{visits}", tasks="{tasks}", problems="{problems}",
                     requests="{requests}"),
        # Asked when a status move needs words.
        "move.problem.resolve": _("How was it resolved?"),
        "move.problem.reopen": _("Why reopen it?"),
        "move.request.answer": _("The reply to the resident"),
        "move.task.done": _("Mark the task done"),
        # Statuses, by type.
        "st.problem.open": _("Open"),
        "st.problem.in_progress": _("In progress"),
        "st.problem.resolved": _("Resolved"),
        "st.problem.verified": _("Verified"),
        "st.request.recorded": _("Recorded"),
        "st.request.accepted": _("Accepted"),
        "st.request.answered": _("Answered"),
        "st.request.closed": _("Closed"),
        "st.task.received": _("Received"),
        "st.task.in_progress": _("In progress"),
        "st.task.done": _("Done"),
        # The township's tasks (the inbox): a village's flag on a task, the dispatch gate.
        "inboxOpen": _("%(n)s to do", n="{n}"),
        "flagged": _("Flagged: %(kind)s", kind="{kind}"),
        "flagKindRequired": _("Choose what is wrong with the task."),
        "flagSaved": _("Flag saved on this phone; it goes to the township at the next sync."),
        "withdrawnHint": _("The township has withdrawn this task, so your change cannot be sent. Discard it."),
        "v.task.flag.duplicate": _("Duplicate dispatch"),
        "v.task.flag.off_list": _("Not on the list"),
        "v.task.flag.unclear": _("Unclear requirements"),
        "v.task.flag.burden": _("Too much burden"),
        "v.task.gate.pending": _("Waiting for approval"),
        "v.task.gate.returned": _("Returned for revision"),
        "v.task.gate.rejected": _("Not approved"),
        "v.task.gate.approved": _("Approved"),
        "v.task.gate.withdrawn": _("Withdrawn"),
        # Field names, for conflicts and the history.
        **{f"f.{name}": text for name, text in field_labels().items()},
        # The history (留痕).
        "h.applied": _("applied"),
        "h.merged": _("merged"),
        "h.rejected": _("rejected"),
        "h.duplicate": _("duplicate"),
        "h.conflict": _("Conflict on %(field)s: kept “%(kept)s”, not kept “%(lost)s”", field="{field}",
                        kept="{kept}", lost="{lost}"),
        "h.nothing": _("No field changed (for example, conflicts acknowledged)"),
        "h.ack": _("Acknowledged the conflicts"),
        "h.loading": _("Loading the history…"),
        "h.fetched": _("Fetched from the server at %(time)s.", time="{time}"),
        "h.cached": _("No connection: this is the copy fetched at %(time)s.", time="{time}"),
        "h.none": _("The history is on the server; open it again with a connection."),
        # Review comments (批注) from the township and the village's replies.
        "reviewCount": _("Comments: %(n)s", n="{n}"),
        "newReviews": _("New comments: %(n)s", n="{n}"),
        "d.ok": _("Fine"),
        "d.follow_up": _("Needs follow-up"),
        "replyTo": _("Reply to %(name)s", name="{name}"),
        "replyingTo": _("Replying to %(name)s: “%(text)s”", name="{name}", text="{text}"),
        "replyRequired": _("Write the reply."),
        "replySaved": _("Reply saved on this phone."),
        "about.journal": _("Journal entry of %(date)s", date="{date}"),
        "about.problem": _("Problem: %(title)s", title="{title}"),
        "about.meeting": _("Pavilion meeting: %(title)s", title="{title}"),
        "about.request": _("Resident's request: %(title)s", title="{title}"),
        "about.task": _("Task: %(title)s", title="{title}"),
        # Reasons for a rejection, by the server's stable error code (else its own message is shown).
        "error.required": _("A required field is empty."),
        "error.too_long": _("Too long for the server; shorten it."),
        "error.invalid_value": _("A value is not valid."),
        "error.forbidden": _("You may not change this entry."),
        "error.out_of_scope": _("This entry belongs to a village outside your area."),
        "error.not_found": _("This entry is no longer on the server."),
        "error.illegal_transition": _("This status change is not allowed from the current status."),
        "error.withdrawn": _("The township has withdrawn this task."),
        "fixHint": _("Tap Edit to fix it and save again, or discard your change."),
    }


def field_labels() -> dict[str, str]:
    return {
        "date": _("Date"), "text": _("Text"), "visits": _("Households visited"), "places": _("Places"),
        "reflection": _("Reflection"), "title": _("Title"), "detail": _("Details"), "category": _("Category"),
        "urgent": _("Urgent"), "status": _("Status"), "owner": _("Owner"), "due": _("Due"),
        "resolution": _("Resolution"), "source_type": _("Source"), "source_id": _("Source record"),
        "reopen_reason": _("Reason for reopening"), "place": _("Place"), "topic": _("Topic"),
        "attendance": _("Attendance"), "minutes": _("Minutes"), "content": _("What the resident asks"),
        "resident_name": _("Resident"), "resident_contact": _("Contact"), "meeting_id": _("Meeting"),
        "reply": _("Reply"), "replied_on": _("Replied on"), "livelihood_project": _("Key livelihood project"),
        "problem_id": _("Problem"), "assignee": _("Assigned to"), "note": _("Completion note"),
        "week": _("Week"), "origin": _("Origin"), "item_code": _("Screening code"),
        "item_name": _("Item"), "item_basis": _("Basis"), "support_department": _("Supporting department"),
        "sent_on": _("Sent on"), "offlist_reason": _("Why it is not on the list"), "gate": _("Screening"),
        "gate_reason": _("Approver's note"), "dispatch_id": _("Dispatch"), "duplicate_of": _("Repeats task"),
        "flag": _("Flag"), "flag_note": _("Flag note"),
    }


@bp.get("/field")
@field_required
def home():
    return render_template("field/home.html", strings=js_strings())


@bp.get("/offline")
def offline():
    return render_template("offline.html")


@bp.get("/js/<version>/<path:name>")
def module(version: str, name: str):
    """An ES module; immutable when the version is the current one."""
    response = send_from_directory(Path(current_app.static_folder) / "js", name, mimetype="text/javascript")
    if version == _version():
        response.cache_control.no_cache = None
        response.cache_control.public = True
        response.cache_control.max_age = 31536000
        response.cache_control.immutable = True
    else:
        response.cache_control.no_cache = True
    return response


def precache_urls() -> list[str]:
    asset = current_app.jinja_env.globals["asset"]
    return [module_url(name) for name in FIELD_MODULES] + [asset(name) for name in SHELL_ASSETS]


@bp.get("/sw.js")
def service_worker():
    source = (Path(current_app.static_folder) / "sw.js").read_text(encoding="utf-8")
    version = hashlib.sha256((_version() + source).encode()).hexdigest()[:12]
    head = (f"const VERSION = {json.dumps(version)}; const PRECACHE = {json.dumps(precache_urls())}; "
            f"const PAGES = {json.dumps(list(SHELL_PAGES))};\n")
    response = Response(head + source, mimetype="application/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    asset = current_app.jinja_env.globals["asset"]
    body = {
        "name": "驻村日志",
        "short_name": "驻村日志",
        "description": "驻村第一书记的工作日志,离线可用,有信号时同步到乡镇。",
        "lang": "zh-CN",
        "dir": "ltr",
        "start_url": "/field",
        "scope": "/",
        "id": "/field",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#fffdf8",
        "theme_color": "#b71c1c",
        "icons": [
            {"src": asset("icons/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": asset("icons/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": asset("icons/icon-maskable-512.png"), "sizes": "512x512", "type": "image/png",
             "purpose": "maskable"},
        ],
    }
    response = Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response
