"""Typed models. Synced records share SyncedMixin; the server-only tables stand alone."""
from __future__ import annotations

import datetime as dt

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import false as sa_false
from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from sync.types import TYPES

from .extensions import db

LEVELS = ("county", "township", "village")
ROLES = ("secretary", "cadre", "township_staff", "township_approver", "admin")
FIELD_ROLES = ("secretary", "cadre")
TOWNSHIP_ROLES = ("township_staff", "township_approver")
ROLE_LEVEL = {"secretary": "village", "cadre": "village", "township_staff": "township",
              "township_approver": "township", "admin": "county"}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Unit(db.Model):
    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    # Materialised path of ids ("/1/4/9/") so a subtree is one prefix match.
    path: Mapped[str] = mapped_column(String(400), index=True)
    last_sync_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    parent: Mapped[Unit | None] = relationship(remote_side=[id])


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(64))  # "张伟"; the username is for logging in
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()

    # The page session this user object was loaded for (`<device id>:<secret>`, see app/credentials.py):
    # Flask-Login keeps it in the session and the remember cookie instead of the bare user id.
    session_id = None
    device = None  # the Device of that session or token

    def get_id(self) -> str | None:
        return self.session_id

    def set_password(self, password: str) -> None:
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def name(self) -> str:
        """How pages name this person: the display name, or the username where none was given."""
        return self.display_name or self.username

    @property
    def is_field(self) -> bool:
        return self.role in FIELD_ROLES


class Device(db.Model):
    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # The bearer token's hash (phones and API clients; none for a web login) and the page session's.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    session_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_sync_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class SyncCounter(db.Model):
    """One row per county whose value is the county's change sequence.

    Writers update their county's row inside their transaction, so the row lock makes the county's
    sequence numbers become visible in the order they were handed out, while writers of other
    counties, holding other rows, never wait for them.
    """
    __tablename__ = "sync_counters"
    county_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class OpLog(db.Model):
    """Every op received, applied or rejected: idempotency and the record's history."""
    __tablename__ = "op_log"
    op_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    device_id: Mapped[str | None] = mapped_column(String(36))
    base: Mapped[int | None] = mapped_column(Integer)
    changes: Mapped[dict] = mapped_column(JSON)
    client_at: Mapped[str | None] = mapped_column(String(40))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int | None] = mapped_column(Integer)
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(Text)
    conflicts: Mapped[list | None] = mapped_column(JSON)
    ack: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())

    __table_args__ = (db.Index("ix_op_log_record", "type", "record_id"),)


class SyncedMixin:
    """The columns every synced record has (see docs/sync-protocol.md)."""
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    field_versions: Mapped[dict] = mapped_column(JSON, default=dict)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # The record's place in its county's change sequence: (county_id, seq) is unique, seq alone is not.
    # county_id is the village's county, copied so a pull reads one index range (no foreign key: it
    # follows unit_id, which has one).
    county_id: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(BigInteger)
    # Conflicts nobody has acknowledged yet (field, kept, lost, op, by, at): the 冲突 mark.
    conflicts: Mapped[list] = mapped_column(JSON, default=list)


class Journal(SyncedMixin, db.Model):
    __tablename__ = "journals"
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    text: Mapped[str] = mapped_column(Text)
    visits: Mapped[int | None] = mapped_column(Integer)
    places: Mapped[str | None] = mapped_column(Text)
    reflection: Mapped[str | None] = mapped_column(Text)

    unit: Mapped[Unit] = relationship()
    author: Mapped[User] = relationship(foreign_keys="Journal.created_by")

    __table_args__ = (db.Index("ix_journals_unit_date", "unit_id", "date"),)


class Problem(SyncedMixin, db.Model):
    __tablename__ = "problems"
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(50))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str | None] = mapped_column(String(64))
    due: Mapped[dt.date | None] = mapped_column(Date)
    resolution: Mapped[str | None] = mapped_column(Text)
    source_type: Mapped[str | None] = mapped_column(String(16))
    source_id: Mapped[str | None] = mapped_column(String(36))
    reopen_reason: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # when it last became resolved

    unit: Mapped[Unit] = relationship()

    __table_args__ = (db.Index("ix_problems_unit_status", "unit_id", "status"),)


class Meeting(SyncedMixin, db.Model):
    __tablename__ = "meetings"
    date: Mapped[dt.date] = mapped_column(Date)
    place: Mapped[str | None] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(500))
    attendance: Mapped[int | None] = mapped_column(Integer)
    minutes: Mapped[str | None] = mapped_column(Text)

    unit: Mapped[Unit] = relationship()


class Request(SyncedMixin, db.Model):
    __tablename__ = "requests"
    content: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(50))
    resident_name: Mapped[str | None] = mapped_column(String(50))
    resident_contact: Mapped[str | None] = mapped_column(String(50))
    meeting_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16))
    reply: Mapped[str | None] = mapped_column(Text)
    replied_on: Mapped[dt.date | None] = mapped_column(Date)
    livelihood_project: Mapped[bool] = mapped_column(Boolean, default=False)
    problem_id: Mapped[str | None] = mapped_column(String(36))
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # when it last became answered

    unit: Mapped[Unit] = relationship()

    __table_args__ = (db.Index("ix_requests_unit_status", "unit_id", "status"),)


class Task(SyncedMixin, db.Model):
    __tablename__ = "tasks"
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)
    due: Mapped[dt.date | None] = mapped_column(Date)
    assignee: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    week: Mapped[str | None] = mapped_column(String(8))
    origin: Mapped[str] = mapped_column(String(16))
    item_code: Mapped[str | None] = mapped_column(String(32))
    offlist_reason: Mapped[str | None] = mapped_column(Text)
    support_department: Mapped[str | None] = mapped_column(String(100))
    dispatch_id: Mapped[str | None] = mapped_column(String(36), index=True)
    gate: Mapped[str | None] = mapped_column(String(16), index=True)
    gate_reason: Mapped[str | None] = mapped_column(Text)
    item_name: Mapped[str | None] = mapped_column(String(200))
    item_basis: Mapped[str | None] = mapped_column(Text)
    duplicate_of: Mapped[str | None] = mapped_column(String(36))
    sent_on: Mapped[dt.date | None] = mapped_column(Date)
    flag: Mapped[str | None] = mapped_column(String(16))
    flag_note: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # when it last became done

    unit: Mapped[Unit] = relationship()
    author: Mapped[User] = relationship(foreign_keys="Task.created_by")

    __table_args__ = (db.Index("ix_tasks_unit_status", "unit_id", "status"),
                      db.Index("ix_tasks_unit_item", "unit_id", "item_code"))

    @classmethod
    def reaches_village(cls):
        """The tasks a village sees (sync.gate.reaches_village): its own, and township tasks once approved."""
        return (cls.origin != "township") | cls.sent_on.is_not(None)

    @classmethod
    def on_village_list(cls):
        """The tasks that count in a village's figures: those it received and that were not withdrawn."""
        return cls.reaches_village() & ((cls.gate.is_(None)) | (cls.gate != "withdrawn"))


class Review(SyncedMixin, db.Model):
    """A township comment (批注) on a record, or a reply to one; travels to the phone."""
    __tablename__ = "reviews"
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[str] = mapped_column(String(36), index=True)
    comment: Mapped[str] = mapped_column(Text)
    decision: Mapped[str | None] = mapped_column(String(16))
    reply_to: Mapped[str | None] = mapped_column(String(36))

    unit: Mapped[Unit] = relationship()
    author: Mapped[User] = relationship(foreign_keys="Review.created_by")


class Attachment(SyncedMixin, db.Model):
    """A photo's metadata (synced) and the state of its upload (server-only; app/attachments/)."""
    __tablename__ = "attachments"
    owner_type: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[str] = mapped_column(String(36), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    mime: Mapped[str] = mapped_column(String(32))
    bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    caption: Mapped[str | None] = mapped_column(String(200))
    # Taken back by the village: its files are deleted (app/attachments/removal.py) and no page shows it.
    removed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # The upload: bytes received so far, and once complete the stored file (its metadata stripped, so its
    # digest may differ from the declared sha256) and its thumbnail.
    received: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    stored_key: Mapped[str | None] = mapped_column(String(200))
    stored_sha256: Mapped[str | None] = mapped_column(String(64))
    stored_bytes: Mapped[int | None] = mapped_column(Integer)
    thumb_key: Mapped[str | None] = mapped_column(String(200))
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    unit: Mapped[Unit] = relationship()


class ReviewMark(db.Model):
    """A reviewer has looked at this version of a record (server-only; the review queue leaves it out)."""
    __tablename__ = "review_marks"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    type: Mapped[str] = mapped_column(String(16), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    marked_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


WORK_ITEM_STATUSES = ("active", "retired", "cancelled")


class WorkItem(db.Model):
    """An item of a county's work-item list (涉村工作事项清单), server-only; `cancelled` is the 取消清单."""
    __tablename__ = "work_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    basis: Mapped[str] = mapped_column(Text, default="")
    department: Mapped[str] = mapped_column(String(100), default="")
    effort_hours: Mapped[float | None] = mapped_column(db.Float)
    status: Mapped[str] = mapped_column(String(16), default="active")
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (db.UniqueConstraint("county_id", "code", name="uq_work_items_county_code"),)


class WorkItemChange(db.Model):
    """The history of the list: every import's additions, updates and retirements, item by item."""
    __tablename__ = "work_item_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id"), index=True)
    import_id: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(16))  # added | updated | retired
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict] = mapped_column(JSON)
    by_user: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# When a record reached these states (server time), for the weekly reports; cleared if it leaves them.
MILESTONE_COLUMNS = {"problem": "resolved_at", "request": "answered_at", "task": "done_at"}
MILESTONES = {name: (TYPES[name].milestone, column) for name, column in MILESTONE_COLUMNS.items()}

SYNCED_MODELS = {"journal": Journal, "problem": Problem, "meeting": Meeting, "request": Request, "task": Task,
                 "review": Review, "attachment": Attachment}

# The pull's indexes (docs/PERFORMANCE.md, "Writers of different counties"): a village's changes after a
# cursor are one range of (unit_id, seq), read in order; a county's one range of (county_id, seq); a
# township's either, whichever the planner finds cheaper for the cursor's place.
for _model in SYNCED_MODELS.values():
    db.Index(f"ix_{_model.__tablename__}_county_seq", _model.county_id, _model.seq, unique=True)
    db.Index(f"ix_{_model.__tablename__}_unit_seq", _model.unit_id, _model.seq)
del _model
