"""Field routes. The page is a shell: the records live in the phone's IndexedDB and are drawn by the JS.

The shell names nobody (no user id, no username, no CSRF token), so the service worker may keep it for whoever
uses the phone next; who is logged in comes from the session pointer in IndexedDB. Pages that are the same for
everyone carry `Zhucun-Shell: neutral`: the worker caches no page without it, and logging out deletes any
cached page without it (an earlier version of the app cached the field page with its user's name).

JavaScript modules are served under a versioned directory, /js/<version>/<name>, rather than with a
`?v=` query: a module's relative imports (`./db.js`) then resolve inside the same version, so a page
never mixes the modules of two releases, and the service worker can precache them exactly.
"""
from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path

from flask import Response, abort, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import get_translations, ngettext, pgettext
from flask_login import current_user

from ..assets import immutable, send_static
from ..i18n import select_locale
from . import bp

# The modules the field shell loads (field.js imports most; views.js, history.js and thread.js are loaded when
# a view or dialog needs them, search.js when the search opens, signout.js when a session ends); all are
# precached, so everything works offline.
# The other views' markup (/field/views, in every language) is precached with them.
FIELD_MODULES = ("field.js", "db.js", "outbox.js", "sync.js", "ui.js", "schema.js", "forms.js", "pwa.js", "logout.js",
                 "signout.js", "views.js", "history.js", "thread.js", "search.js", "monthly.js", "summary.js",
                 "photos.js", "uploads.js", "photo-worker.js", "photo-scale.js", "housekeeping.js")
# Static files (by their name under app/static) the shell needs offline.
SHELL_ASSETS = ("css/app.css", "icons/icon-192.png")
# Pages the service worker keeps for offline navigation, fetched without cookies (/offline is precached
# separately, the same way).
SHELL_PAGES = ("/field",)
NEUTRAL = ("Zhucun-Shell", "neutral")
# A module's static imports (`import … from './x.js'`), not the ones loaded on first use (`import('./x.js')`).
STATIC_IMPORT = re.compile(r"^import\s[^;()]*?'\./([\w-]+\.js)';", re.M)


def _version() -> str:
    return current_app.extensions["asset_version"]


@bp.app_template_global()
def module_url(name: str) -> str:
    """The versioned URL of an ES module under app/static/js."""
    return url_for("field.module", version=_version(), name=name)


def counted(key: str, sentence) -> dict[str, str]:
    """A sentence with a count `{n}` (`sentence(n)` calls ngettext), in the forms the page's language has:
    `key.one` and `key.other`, which `t(key, {n})` picks by Intl.PluralRules (Chinese has one form, English two)."""
    return {f"{key}.one": sentence(1), f"{key}.other": sentence(2)}


def js_strings() -> dict[str, str]:
    """Every sentence the JavaScript shows, translated here so all text lives in one catalog."""
    return {
        "waiting": _("Waiting to sync"),
        "sent": _("Sent"),
        "confirmed": _("Confirmed"),
        "rejected": _("Rejected"),
        "waitingCount": _("Waiting to sync: %(n)s", n="{n}"),
        "lastSync": _("last synced %(time)s", time="{time}"),
        "neverSynced": _("Not synced yet"),
        "syncing": _("Syncing…"),
        "synced": _("Synced."),
        "offline": _("No signal. Entries are kept on this phone and sync when there is a connection."),
        "retry": _("Sync failed; trying again in %(s)s s.", s="{s}"),
        "serverError": _("The server could not take the entries; trying again in %(s)s s.", s="{s}"),
        "relogin": _("Log in again to sync. Entries on this phone are kept."),
        "noSession": _("Log in on this phone (with a connection) to see and sync your journal."),
        "saved": _("Saved on this phone."),
        **counted("visits", lambda n: ngettext("%(n)s household visited", "%(n)s households visited", n, n="{n}")),
        "by": _("by %(name)s", name="{name}"),
        "fieldValue": _("%(label)s: %(value)s", label="{label}", value="{value}"),
        # Photos (photos.js, uploads.js).
        "photo.caption": _("Caption (optional)"),
        "photo.remove": _("Remove the photo"),
        "photo.working": _("Making the photo smaller…"),
        "photo.unreadable": _("This file could not be read as a photo: %(name)s", name="{name}"),
        "photo.failed": _("Photo not accepted: %(reason)s. The record itself is kept.", reason="{reason}"),
        "photo.waiting": _("Waiting to be sent"),
        "photo.alt": _("Photo"),
        "photo.removeAsk": _("Remove this photo? It is deleted from this phone now and from the server at the next "
                             "sync; nobody will see it again."),
        "photo.removed": _("Photo removed."),
        **counted("photo.elsewhere", lambda n: ngettext("%(n)s more photo on the server, not on this phone yet",
                                                        "%(n)s more photos on the server, not on this phone yet",
                                                        n, n="{n}")),
        **counted("photosWaiting", lambda n: ngettext("Photos waiting to be sent: %(n)s, about %(kb)s KB",
                                                      "Photos waiting to be sent: %(n)s, about %(kb)s KB", n,
                                                      n="{n}", kb="{kb}")),
        "photoRefused.digest_mismatch": _("it arrived damaged"),
        "photoRefused.not_an_image": _("the server could not read it as an image"),
        "photoRefused.too_many_pixels": _("it has too many pixels"),
        "photoRefused.wrong_type": _("it is not the kind of image it says it is"),
        "photoRefused.not_a_photo": _("an animated image is not a photo"),
        "photoRefused.too_large": _("it is too large"),
        "photoRefused.other": _("the server refused it"),
        "storage": _("Storage used on this phone: %(used)s of %(quota)s.", used="{used}", quota="{quota}"),
        "storageLow": _("This phone is nearly out of storage for the journal. Sync, then free some space."),
        "storageNotPersisted": _("The browser may clear this data when space is short; sync often."),
        # Logging out and switching person (logout.js); a device the server no longer accepts (field.js).
        "logOut": _("Log out"),
        "switchPerson": _("Switch person"),
        "stayLoggedIn": _("Stay logged in"),
        **counted("logoutUnsent", lambda n: ngettext(
            "%(n)s entry has not been sent yet. Only it stays on this phone, and it is sent when you log in again; "
            "everything else of yours is removed from this phone.",
            "%(n)s entries have not been sent yet. Only they stay on this phone, and they are sent when you log in "
            "again; everything else of yours is removed from this phone.", n, n="{n}")),
        "logoutOffline": _("No signal: you can log out now, but logging in again needs a connection."),
        "signedOutEmpty": _("Nothing of yours is left on this phone."),
        "overdue": _("overdue"),
        "signedOut": _("This phone was signed out; only the entries not sent yet are kept on it. Log in again to "
                       "send them."),
        "conflict": _("Also edited elsewhere; both versions are kept in the history."),
        "required": _("Fill in this field."),
        "madeProblem": _("Made a problem"),
        "fromJournal": _("From the journal of %(date)s", date="{date}"),
        "source.journal": _("From a journal entry"),
        "source.request": _("From a resident's request"),
        "source.visit": _("From a household visit"),
        "source.township": _("From the township"),
        "atMeeting": _("At the meeting of %(date)s: %(topic)s", date="{date}", topic="{topic}"),
        **counted("requestCount", lambda n: ngettext("%(n)s request", "%(n)s requests", n, n="{n}")),
        "urgent": _("Urgent"),
        "linkedRecord": _("(a linked record)"),
        "empty": _("(empty)"),
        "yes": _("yes"),
        "no": _("no"),
        "weekSum": _("This week — journal entries: %(journals)s; households visited: %(visits)s; tasks done: "
                     "%(tasks)s; problems resolved: %(problems)s; requests answered: %(requests)s.",
                     journals="{journals}", visits="{visits}", tasks="{tasks}", problems="{problems}",
                     requests="{requests}"),
        # Asked when a status move needs words.
        # Statuses, by type.
        # The township's tasks (the inbox): a village's flag on a task, the dispatch gate.
        "inboxOpen": _("%(n)s to do", n="{n}"),
        "flagged": _("Flagged: %(kind)s", kind="{kind}"),
        "flagKindRequired": _("Choose what is wrong with the task."),
        "flagSaved": _("Flag saved on this phone; it goes to the township at the next sync."),
        "withdrawnHint": _("The township has withdrawn this task, so your change cannot be sent. Discard it."),
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
        "error.out_of_range": _("A value is outside what the server accepts."),
        "fixHint": _("Tap Edit to fix it and save again, or discard your change."),
        # The phone's checks before saving, with the server's own limits (from /api/schema).
        "check.required": _("Fill in “%(field)s”.", field="{field}"),
        "check.tooLong": _("“%(field)s” can have at most %(max)s characters; this is %(over)s too many.",
                           field="{field}", max="{max}", over="{over}"),
        "check.integer": _("“%(field)s” must be a whole number.", field="{field}"),
        "check.range": _("“%(field)s” must be from %(min)s to %(max)s.", field="{field}", min="{min}", max="{max}"),
        "check.date": _("“%(field)s” is not a date.", field="{field}"),
        "check.week": _("“%(field)s” is not a week.", field="{field}"),
        "check.dateRange": _("“%(field)s” must be from %(first)s to %(last)s.", field="{field}", first="{first}",
                             last="{last}"),
        "check.invalid": _("“%(field)s” has a value that cannot be saved.", field="{field}"),
        **counted("check.left", lambda n: ngettext("%(n)s character left", "%(n)s characters left", n, n="{n}")),
        **counted("check.over", lambda n: ngettext("%(n)s character over the limit of %(max)s",
                                                   "%(n)s characters over the limit of %(max)s", n, n="{n}",
                                                   max="{max}")),
        "noSchema": _("Connect once so this phone can load the forms; after that it works offline."),
        # Refused entries: counted, never hidden behind "synced"; discarding asks and can be undone.
        "rejectedCount": _("%(n)s refused by the server, to fix", n="{n}"),
        **counted("syncedButRejected", lambda n: ngettext(
            "Synced, except %(n)s refused entry: fix or discard it.",
            "Synced, except %(n)s refused entries: fix or discard them.", n, n="{n}")),
        "discardNew": _("This %(type)s never reached the server. Discarding deletes it from this phone: “%(what)s”.",
                        type="{type}", what="{what}"),
        "discardChange": _("Discard your change to this %(type)s and go back to the server's version? What you "
                           "changed is deleted: “%(what)s”.", type="{type}", what="{what}"),
        "discard": _("Discard"),
        "discarded": _("Discarded."),
        # Searching the records on this phone (search.js).
        "search.count": _("%(n)s found", n="{n}"),
        "search.more": _("The newest %(shown)s of %(n)s found; add a word to narrow them down.", shown="{shown}",
                         n="{n}"),
        **counted("weekPending", lambda n: ngettext(
            "%(n)s entry of this week is not confirmed by the server yet (waiting or refused) and is not counted.",
            "%(n)s entries of this week are not confirmed by the server yet (waiting or refused) and are not counted.",
            n, n="{n}")),
        **report_strings(),
    }


# A sentence's placeholders as the JS has them: %(num)d is {n}, %(name)s and %(name)d are {name}.
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def placeheld(text: str) -> str:
    return PLACEHOLDER.sub(lambda m: "{n}" if m[1] == "num" else f"{{{m[1]}}}", text)


def numbered(key: str, singular: str, plural: str) -> dict[str, str]:
    """counted() for the reports' sentences, whose count is `%(num)d` (which takes no "{n}"): their msgids
    unchanged, so the catalog has one translation for the phone and the township's pages."""
    translations = get_translations()
    return {f"{key}.{form}": placeheld(translations.ungettext(singular, plural, n))
            for form, n in (("one", 1), ("other", 2))}


def report_strings() -> dict[str, str]:
    """The month's record (monthly.js) and Friday's review in words (summary.js), in the words of
    app/reports/monthly_docx.py and summary.py."""
    from ..reports.monthly_docx import LABELS
    return {
        **{f"m.{name}": str(label) for name, label in LABELS.items()},
        **numbered("m.days", "Days in the village: %(num)d day", "Days in the village: %(num)d days"),
        "m.visitFact": placeheld(_("Households visited: %(num)d")),
        "m.places": placeheld(_("Places: %(places)s")),
        "s.none": _("No records this week."),
        "s.village": placeheld(_("This week %(village)s %(done)s.")),
        "s.names": pgettext("between names in a sentence", ", "),
        "s.clauses": pgettext("between clauses of a sentence", ", "),
        **numbered("s.journals", "wrote %(num)d journal", "wrote %(num)d journals"),
        **numbered("s.visits", "visited %(num)d household", "visited %(num)d households"),
        **numbered("s.opened", "recorded %(num)d new problem", "recorded %(num)d new problems"),
        **numbered("s.resolved", "resolved %(num)d problem", "resolved %(num)d problems"),
        **numbered("s.recorded", "took down %(num)d resident's request", "took down %(num)d residents' requests"),
        **numbered("s.answered", "answered %(num)d request", "answered %(num)d requests"),
        **numbered("s.tasks", "finished %(num)d task", "finished %(num)d tasks"),
        **numbered("s.days", "%(num)d day", "%(num)d days"),
        "s.lessThanDay": _("less than a day"),
        **numbered("s.age", "open %(num)d day", "open %(num)d days"),
        "s.justRaised": _("just raised"),
        "s.urgentOne": placeheld(_("“%(title)s” (%(age)s)")),
        **numbered("s.urgent", "%(num)d urgent problem is still open: %(problems)s.",
                   "%(num)d urgent problems are still open: %(problems)s."),
        **numbered("s.urgentMore", "%(num)d urgent problem is still open, the oldest: %(problems)s.",
                   "%(num)d urgent problems are still open, the oldest: %(problems)s."),
        "s.waitingOne": placeheld(_("A resident's request is waiting for an answer, for %(days)s now.")),
        **numbered("s.waiting", "%(num)d resident's request is waiting for an answer; the oldest has waited %(days)s.",
                   "%(num)d residents' requests are waiting for an answer; the oldest has waited %(days)s."),
        "s.andMore": placeheld(_("%(items)s and more")),
        **numbered("s.followUps", "The township asked for follow-up %(num)d time: %(comments)s.",
                   "The township asked for follow-up %(num)d times: %(comments)s."),
        **numbered("s.allAnswered", "The village has answered.", "The villages have answered every one."),
        **numbered("s.noneAnswered", "The village has not answered yet.", "None has been answered yet."),
        "s.someAnswered": placeheld(_("Answered: %(answered)d; not yet: %(waiting)d.")),
    }


def neutral_page(template: str, **context) -> Response:
    response = make_response(render_template(template, **context))
    response.headers[NEUTRAL[0]] = NEUTRAL[1]
    response.headers["Cache-Control"] = "no-cache"  # it names the release's modules: always the current one
    return response


@bp.get("/field")
def home():
    """Anyone may have the shell (with nobody logged in on the phone, its script opens the login page); a
    township user's page session goes to the township's pages."""
    if current_user.is_authenticated and not current_user.is_field:
        return redirect(url_for("township.journals"))
    return neutral_page("field/home.html", strings=js_strings(), views_url=views_url(select_locale()),
                        preload=first_load_modules(_version()))


def views_url(lang: str) -> str:
    """The other views' markup in one language, of this release: the URL names one content for everyone."""
    return url_for("field.views", v=_version(), lang=lang)


@bp.get("/field/views")
def views():
    """The markup of the views other than the journal, which field.js fetches when one is first opened: the
    `views` block of the field page alone, the same for everyone, in the language its URL names. Like a
    module, only the current release's is served (kept for good), and the service worker precaches it."""
    lang = request.args.get("lang")
    if request.args.get("v") != _version() or lang not in current_app.config["LANGUAGES"]:
        abort(404)
    layout = current_app.jinja_env.from_string("{% block views %}{% endblock %}")
    with force_locale(lang):
        response = neutral_page("field/home.html", layout=layout)
    return immutable(response)


@lru_cache(maxsize=4)
def _module_graph(folder: str, version: str, entry: str) -> tuple[str, ...]:
    seen, queue = [], [entry]
    while queue:
        name = queue.pop(0)
        if name not in seen:
            seen.append(name)
            queue += STATIC_IMPORT.findall((Path(folder) / name).read_text(encoding="utf-8"))
    return tuple(seen)


def first_load_modules(version: str) -> tuple[str, ...]:
    """field.js and every module it imports statically, for the page's `modulepreload` links (a release's
    files do not change, so the graph is read once per version)."""
    return _module_graph(str(Path(current_app.static_folder) / "js"), version, "field.js")


@bp.get("/offline")
def offline():
    """Neutral when nobody is logged in (as the service worker fetches it); else its header names the user."""
    if current_user.is_authenticated:
        return render_template("offline.html")
    return neutral_page("offline.html")


@bp.get("/js/<version>/<path:name>")
def module(version: str, name: str):
    """An ES module of the current version, immutable. Another version's is 404, not today's file: its relative
    imports would resolve inside the old version and mix two releases in one page (a redirect would load a
    second copy of every module). A page of an old release has all its modules in its worker's precache."""
    if version != _version():
        abort(404)
    return immutable(send_static(f"js/{name}", mimetype="text/javascript"))


def precache_urls() -> list[str]:
    asset = current_app.jinja_env.globals["asset"]
    return ([module_url(name) for name in FIELD_MODULES] + [asset(name) for name in SHELL_ASSETS]
            + [views_url(lang) for lang in current_app.config["LANGUAGES"]])


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
        "description": "驻村第一书记的工作日志，离线可用，有信号时同步到乡镇。",
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
