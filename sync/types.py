"""The synced record types: the merge table.

Everything the engine knows about a type is declared here, in one table, not in
scattered conditionals: each field's kind and limits, how it merges on a
conflict, which roles may set it, whether it is personal data; and for a status
field, its order, the moves allowed, who may make them and what they need.

Merging (see merge.py): a field nobody else changed since the op's base takes
the new value. A field changed on both sides is a conflict: `merge="last"` —
the later arrival wins; `merge="ordered"` — the value furthest along `order`
wins, so a stale offline edit cannot undo a later state. The loser is kept.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

FIELD_ROLES = frozenset({"secretary", "cadre"})
TOWNSHIP_ROLES = frozenset({"township_staff", "township_approver"})
STAFF_ROLES = FIELD_ROLES | TOWNSHIP_ROLES
APPROVERS = frozenset({"township_approver"})
NOBODY = frozenset()


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # text | date | int | bool | enum | uuid | week | user (a username of the village)
    required: bool = False
    max_length: int = 20000
    minimum: int | None = None
    order: tuple[str, ...] = ()       # enum values, in order
    merge: str = "last"               # last | ordered
    writers: frozenset | None = None  # roles that may set it; None: whoever may write the type
    personal: str | None = None       # name | contact: masked outside the village
    township_only: bool = False       # never sent to the village's users (it may name what they cannot see)
    maximum: int | None = None        # for an int
    days_back: int | None = None      # for a date or week: how far before today (Asia/Shanghai) it may be
    days_ahead: int | None = None     # ... and how far after
    why: str = ""                     # the reason for a bound, for the docs and the schema
    pattern: str | None = None        # for a text: the whole value must match this regular expression
    over: str = "out_of_range"        # for an int: the rejection code of a value above its maximum


@dataclass(frozen=True)
class StatusRule:
    """The moves a status field allows. A stale op in conflict is settled by the order instead."""
    field: str
    initial: str
    moves: dict[str, frozenset]
    roles: dict[str, frozenset] = field(default_factory=dict)  # target → the only roles that may move there
    needs: dict[str, str] = field(default_factory=dict)        # target → field that must then have a value
    needs_new: dict[tuple[str, str], str] = field(default_factory=dict)  # (from, to) → field the op must set
    dated: dict[str, str] = field(default_factory=dict)  # target → date field set to today unless given


@dataclass(frozen=True)
class RecordType:
    name: str
    fields: dict[str, Field]
    writers: frozenset[str]
    defaults: dict = field(default_factory=dict)  # on create: a value, or "today", or "origin"
    statuses: tuple[StatusRule, ...] = ()
    # (type field, id field): the record is about another record, whose village it takes.
    about: tuple[str, str] | None = None
    authors_only: bool = False  # once made, only its author may change it (a comment stays its writer's)
    screened: bool = False      # the township's records of this type pass the dispatch gate (gate.py)
    milestone: tuple[str, ...] = ()  # the statuses that count as done in reports (resolved, answered, done)
    fixed: tuple[str, ...] = ()  # fields set when the record is made that no later op may change
    one_way: tuple[str, ...] = ()  # bools that, once true, no later op may set back (a removed photo)

    @property
    def status(self) -> StatusRule | None:
        """The record's main status (the first rule), which reports and milestones follow."""
        return self.statuses[0] if self.statuses else None


def _fields(*items: Field) -> dict[str, Field]:
    return {f.name: f for f in items}


# Bounds, each with its reason. A date is checked against today in Asia/Shanghai when the server receives it,
# so a bound leaves room for a phone that stays offline for weeks.
RECORDED_DAY = dict(days_back=366, days_ahead=1,
                    why="a record of what happened: up to a year back (a phone offline for weeks), "
                        "and tomorrow at most (a phone's clock a little ahead)")
DUE_DAY = dict(days_back=3660, days_ahead=3660,
               why="a deadline: within ten years either way (long overdue, or a multi-year project); "
                   "a century away is a typo")
PLAN_WEEK = dict(days_back=3660, days_ahead=3660, why="a week of a plan: within ten years either way, like a deadline")
VISITS_A_DAY = dict(minimum=0, maximum=200,
                    why="households visited in one day: a long day of door-to-door visits reaches a few dozen; "
                        "200 covers a whole hamlet's census day")
ATTENDANCE = dict(minimum=0, maximum=5000, why="people at one meeting: a large village's whole assembly")
SHORT = 200    # a title or a place: one line
LONG = 20000   # free text: about 20 printed pages of Chinese, far beyond a day's journal


JOURNAL = RecordType(
    name="journal",
    fields=_fields(
        Field("date", "date", **RECORDED_DAY),
        Field("text", "text", required=True, max_length=LONG),
        Field("visits", "int", **VISITS_A_DAY),
        Field("places", "text", max_length=2000),
        Field("reflection", "text", max_length=LONG),
    ),
    writers=FIELD_ROLES,
    defaults={"date": "today"},
    authors_only=True,  # a journal is its writer's account of the day: another cadre adds their own, never edits it
)

PROBLEM_ORDER = ("open", "in_progress", "resolved", "verified")
PROBLEM = RecordType(
    name="problem",
    fields=_fields(
        Field("title", "text", required=True, max_length=SHORT),
        Field("detail", "text"),
        Field("category", "text", max_length=50),
        Field("urgent", "bool"),
        Field("status", "enum", order=PROBLEM_ORDER, merge="ordered"),
        Field("owner", "user"),
        Field("due", "date", **DUE_DAY),
        Field("resolution", "text"),
        Field("source_type", "enum", order=("journal", "request", "visit", "township")),
        Field("source_id", "uuid"),
        Field("reopen_reason", "text", max_length=2000),
    ),
    writers=STAFF_ROLES,
    defaults={"status": "open", "urgent": False},
    milestone=("resolved", "verified"),
    statuses=(StatusRule(
        field="status", initial="open",
        moves={"open": frozenset({"in_progress", "resolved"}),
               "in_progress": frozenset({"open", "resolved"}),
               "resolved": frozenset({"verified", "open", "in_progress"}),
               "verified": frozenset({"open"})},
        roles={"verified": TOWNSHIP_ROLES},
        needs={"resolved": "resolution"},
        needs_new={("resolved", "open"): "reopen_reason", ("resolved", "in_progress"): "reopen_reason",
                   ("verified", "open"): "reopen_reason"},
    ),),
)

MEETING = RecordType(
    name="meeting",
    fields=_fields(
        Field("date", "date", days_back=366, days_ahead=90,
              why="a meeting held up to a year ago, or planned up to three months ahead"),
        Field("place", "text", max_length=SHORT),
        Field("topic", "text", required=True, max_length=500),
        Field("attendance", "int", **ATTENDANCE),
        Field("minutes", "text"),
    ),
    writers=FIELD_ROLES,
    defaults={"date": "today"},
)

REQUEST_ORDER = ("recorded", "accepted", "answered", "closed")
REQUEST = RecordType(
    name="request",
    fields=_fields(
        Field("content", "text", required=True),
        Field("category", "text", max_length=50),
        Field("resident_name", "text", max_length=50, personal="name"),
        Field("resident_contact", "text", max_length=50, personal="contact"),
        Field("meeting_id", "uuid"),
        Field("status", "enum", order=REQUEST_ORDER, merge="ordered"),
        Field("reply", "text"),
        Field("replied_on", "date", **RECORDED_DAY),
        Field("livelihood_project", "bool"),
        Field("problem_id", "uuid"),
    ),
    writers=FIELD_ROLES,
    defaults={"status": "recorded", "livelihood_project": False},
    milestone=("answered", "closed"),
    statuses=(StatusRule(
        field="status", initial="recorded",
        moves={"recorded": frozenset({"accepted", "answered"}),
               "accepted": frozenset({"answered"}),
               "answered": frozenset({"closed"}),
               "closed": frozenset()},
        needs={"answered": "reply"},
        dated={"answered": "replied_on"},
    ),),
)

TASK_ORDER = ("received", "in_progress", "done")
GATE_ORDER = ("pending", "returned", "rejected", "approved", "withdrawn")
FLAGS = ("duplicate", "off_list", "unclear", "burden")
OFFLIST_REASON_MIN = 10  # an off-list task needs a written reason, not a word
TASK = RecordType(
    name="task",
    fields=_fields(
        Field("title", "text", required=True, max_length=SHORT),
        Field("detail", "text"),
        Field("due", "date", **DUE_DAY),
        Field("assignee", "user"),
        Field("status", "enum", order=TASK_ORDER, merge="ordered", writers=FIELD_ROLES),
        Field("note", "text", writers=FIELD_ROLES),
        Field("week", "week", **PLAN_WEEK),
        Field("origin", "enum", order=("township", "village"), writers=NOBODY),
        # The dispatch gate (gate.py): a township task names an item of the county's list, or says why not.
        Field("item_code", "text", max_length=32, writers=TOWNSHIP_ROLES),
        Field("offlist_reason", "text", max_length=2000, writers=TOWNSHIP_ROLES),
        Field("support_department", "text", max_length=100, writers=TOWNSHIP_ROLES),
        Field("dispatch_id", "uuid", writers=TOWNSHIP_ROLES),  # one dispatch to several villages
        Field("gate", "enum", order=GATE_ORDER, writers=TOWNSHIP_ROLES),
        Field("gate_reason", "text", max_length=2000, writers=APPROVERS),
        Field("item_name", "text", max_length=200, writers=NOBODY),
        Field("item_basis", "text", max_length=2000, writers=NOBODY),
        Field("duplicate_of", "uuid", writers=NOBODY, township_only=True),
        Field("sent_on", "date", writers=NOBODY),  # the day it was approved and reached the village
        # The village's word upward on a task it received (the complaints and suggestions channel).
        Field("flag", "enum", order=FLAGS, writers=FIELD_ROLES),
        Field("flag_note", "text", max_length=2000, writers=FIELD_ROLES),
    ),
    writers=STAFF_ROLES,
    defaults={"status": "received", "origin": "origin", "week": "this_week"},
    milestone=("done",),
    statuses=(StatusRule(
        field="status", initial="received",
        moves={"received": frozenset({"in_progress", "done"}),
               "in_progress": frozenset({"done"}),
               "done": frozenset({"in_progress"})},
        needs={"done": "note"},
    ), StatusRule(
        field="gate", initial="pending",
        moves={"pending": frozenset({"approved", "rejected", "returned", "withdrawn"}),
               "returned": frozenset({"pending", "withdrawn"}),
               "approved": frozenset({"withdrawn"}),
               "rejected": frozenset(),
               "withdrawn": frozenset()},
        roles={"approved": APPROVERS, "rejected": APPROVERS, "returned": APPROVERS},
        needs_new={("pending", "rejected"): "gate_reason", ("pending", "returned"): "gate_reason"},
    )),
    screened=True,
)

REVIEWERS = TOWNSHIP_ROLES | {"admin"}
REVIEW = RecordType(
    name="review",
    fields=_fields(
        Field("target_type", "enum", required=True, order=("journal", "problem", "meeting", "request", "task")),
        Field("target_id", "uuid", required=True),
        Field("comment", "text", required=True, max_length=5000),
        Field("decision", "enum", order=("ok", "follow_up"), writers=REVIEWERS),
        Field("reply_to", "uuid"),
    ),
    writers=STAFF_ROLES | REVIEWERS,
    about=("target_type", "target_id"),
    authors_only=True,
)

# A photo's metadata (the bytes follow by their own resumable upload, app/attachments/). The phone re-encodes
# its photos small (a long edge of about 1600 px, a few hundred KB), so these bounds only stop the absurd.
PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_MAX_SIDE = 16383
OWNER_TYPES = ("journal", "problem", "meeting", "request", "task")
ATTACHMENT = RecordType(
    name="attachment",
    fields=_fields(
        Field("owner_type", "enum", required=True, order=OWNER_TYPES),
        Field("owner_id", "uuid", required=True),
        Field("sha256", "text", required=True, max_length=64, pattern="[0-9a-f]{64}",
              why="the SHA-256 of the bytes as uploaded, 64 lower-case hex digits"),
        Field("mime", "enum", required=True, order=("image/jpeg", "image/webp", "image/png")),
        Field("bytes", "int", required=True, minimum=1, maximum=PHOTO_MAX_BYTES, over="too_large",
              why="the file's size: a phone photo re-encoded for the village's network is a few hundred KB; "
                  "10 MB is a camera's full-size original, the most a village should ever pay to send"),
        Field("width", "int", required=True, minimum=1, maximum=PHOTO_MAX_SIDE,
              why="pixels: the largest side WebP can hold; the phone sends about 1600"),
        Field("height", "int", required=True, minimum=1, maximum=PHOTO_MAX_SIDE,
              why="pixels: the largest side WebP can hold; the phone sends about 1600"),
        Field("caption", "text", max_length=SHORT),
        # A photo taken by mistake (a resident's ID card, a child) is taken back: the server deletes its file
        # and the township sees it nowhere. It cannot come back: the file is gone.
        Field("removed", "bool"),
    ),
    writers=FIELD_ROLES,  # photos are taken in the village; the township sees them
    defaults={"removed": False},
    about=("owner_type", "owner_id"),
    fixed=("sha256", "mime", "bytes", "width", "height"),  # the file they describe is uploaded once
    one_way=("removed",),
)

TYPES: dict[str, RecordType] = {t.name: t for t in (JOURNAL, PROBLEM, MEETING, REQUEST, TASK, REVIEW, ATTACHMENT)}


def shanghai_today(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.timezone.utc)
    return now.astimezone(SHANGHAI).date().isoformat()


def this_week(today: str | None = None) -> str:
    year, week, _ = dt.date.fromisoformat(today or shanghai_today()).isocalendar()
    return f"{year}-W{week:02d}"


def date_bounds(spec: Field, today: str | None = None) -> tuple[str | None, str | None]:
    """The first and last dates a date field may take today, as YYYY-MM-DD (None: unbounded)."""
    day = dt.date.fromisoformat(today or shanghai_today())
    first = (day - dt.timedelta(days=spec.days_back)).isoformat() if spec.days_back is not None else None
    last = (day + dt.timedelta(days=spec.days_ahead)).isoformat() if spec.days_ahead is not None else None
    return first, last
