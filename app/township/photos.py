"""The photos of records as the township's pages show them: one query for all the records on a page."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from flask import url_for
from sqlalchemy import and_, or_, select

from ..extensions import db
from ..models import Attachment, Device, OpLog, User
from .records import actor_of, local_text

SHOWN_EDGE = 160   # px of the thumbnail's long edge on the record page
SMALL_EDGE = 48    # ... in a list or the review queue
LISTED = 3         # thumbnails a list or the queue shows of one record; the rest are counted


@dataclass(frozen=True)
class PhotoView:
    id: str
    owner_type: str
    owner_id: str
    caption: str
    author: str        # username, shown through `| person`
    added_at: dt.datetime  # as stored (naive UTC), for ordering beside the history
    uploaded: bool     # every byte arrived and was checked: only then is there an image to show
    width: int         # of the photo as declared
    height: int
    after: bool = False  # added once the record was finished (a problem's photos after the fix)

    @property
    def added_text(self) -> str:
        return local_text(self.added_at)

    @property
    def thumb_url(self) -> str:
        return url_for("attachments.attachment", record_id=self.id, size="thumb")

    @property
    def full_url(self) -> str:
        return url_for("attachments.attachment", record_id=self.id)

    def fit(self, edge: int = SHOWN_EDGE) -> tuple[int, int]:
        """(width, height) of the thumbnail shown with its long edge at most `edge`."""
        scale = min(1.0, edge / max(self.width, self.height, 1))
        return max(1, round(self.width * scale)), max(1, round(self.height * scale))


def of_owners(user, pairs) -> dict[tuple[str, str], list[PhotoView]]:
    """{(owner type, owner id): its live photos in the user's scope, oldest first}, in one query (the
    authors' names joined in) for all the records of a page."""
    by_type: dict[str, set[str]] = {}
    for owner_type, owner_id in pairs:
        by_type.setdefault(owner_type, set()).add(owner_id)
    if not by_type:
        return {}
    owners = [and_(Attachment.owner_type == t, Attachment.owner_id.in_(sorted(ids))) for t, ids in by_type.items()]
    query = (select(Attachment, User.username).outerjoin(User, User.id == Attachment.created_by)
             .where(Attachment.unit_id.in_(actor_of(user).village_ids), Attachment.deleted.is_(False),
                    Attachment.removed.is_(False), or_(*owners))
             .order_by(Attachment.created_at, Attachment.id))
    out: dict[tuple[str, str], list[PhotoView]] = {}
    for row, username in db.session.execute(query):
        out.setdefault((row.owner_type, row.owner_id), []).append(PhotoView(
            id=row.id, owner_type=row.owner_type, owner_id=row.owner_id, caption=row.caption or "",
            author=username or "", added_at=row.created_at, uploaded=row.completed_at is not None,
            width=row.width or 1, height=row.height or 1))
    return out


@dataclass(frozen=True)
class RemovedPhoto:
    """A photo the village took back: who removed it and when, never what it showed."""
    id: str
    by: str                 # username, shown through `| person`
    device: str | None      # the phone's name
    at: str | None          # the device's clock (ISO), as the op log has it
    received_at: dt.datetime  # as stored (naive UTC)


def removed_of(user, owner_type: str, owner_id: str) -> list[RemovedPhoto]:
    """The record's removed photos in the user's scope, each with the op that removed it, oldest first."""
    ids = select(Attachment.id).where(
        Attachment.unit_id.in_(actor_of(user).village_ids), Attachment.owner_type == owner_type,
        Attachment.owner_id == owner_id, Attachment.deleted.is_(False), Attachment.removed.is_(True))
    query = (select(OpLog, User.username, Device.name).join(User, User.id == OpLog.user_id)
             .outerjoin(Device, Device.id == OpLog.device_id)
             .where(OpLog.type == "attachment", OpLog.record_id.in_(ids), OpLog.status != "rejected")
             .order_by(OpLog.received_at, OpLog.op_id))
    found: dict[str, RemovedPhoto] = {}
    for entry, username, device in db.session.execute(query):
        if entry.record_id not in found and (entry.changes or {}).get("removed") is True:
            found[entry.record_id] = RemovedPhoto(entry.record_id, username, device, entry.client_at,
                                                  entry.received_at)
    return sorted(found.values(), key=lambda r: (r.received_at, r.id))


def of_records(user, owner_type: str, owner_ids) -> dict[str, list[PhotoView]]:
    """{owner id: its live photos in the user's scope, oldest first}, for records of one type."""
    return {owner_id: found for (_t, owner_id), found
            in of_owners(user, [(owner_type, i) for i in owner_ids]).items()}


def staged(shown: list[PhotoView], finished_at: dt.datetime | None) -> list[PhotoView]:
    """The photos of a finished record, those added since it was finished marked `after` (the photos of the
    result: the finishing move sends them with it)."""
    if finished_at is None:
        return shown
    return [replace(p, after=p.added_at >= finished_at) for p in shown]
