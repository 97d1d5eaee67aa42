"""The review queue's journals as a digest: one block per village instead of a row per journal.

A journal that needs an answer (a village reply, a conflict) is listed in the queue like any record; the
others — plain new or changed journals — are summed up here per village: how many, their date range, the
households visited, the photos, and the first line of the newest few. One query over the queue's journal select.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select

from .. import scope
from ..extensions import db
from ..models import Attachment, Unit, User
from . import review
from .filters import Filters

NEWEST_SHOWN = 3
FIRST_LINE_LENGTH = 80


@dataclass
class VillageDigest:
    village: Unit
    journals: int
    first_day: dt.date | None
    last_day: dt.date | None
    visits: int
    waiting: int                                     # everything of the village in the queue
    photos: int = 0                                  # of these journals
    newest: list[str] = field(default_factory=list)  # first lines, newest first


def first_line(text: str | None, length: int = FIRST_LINE_LENGTH) -> str:
    line = next((part.strip() for part in (text or "").splitlines() if part.strip()), "")
    return line if len(line) <= length else line[:length] + "…"


def journal_digest(user: User, f: Filters, per_village: dict[int, int]) -> list[VillageDigest]:
    """The plain journals waiting in the user's queue (with the filters), per village, in village order:
    one query, the sums as window aggregates beside the newest rows."""
    if f.rtype and f.rtype != "journal":
        return []
    sub = review.pending_of(user, f, "journal", "date", "visits", "text")
    photos = (select(func.count()).where(Attachment.owner_type == "journal", Attachment.owner_id == sub.c.id,
                                         Attachment.deleted.is_(False), Attachment.removed.is_(False))
              .correlate(sub).scalar_subquery())
    counted = select(sub, photos.label("photos")).where(review.in_digest(sub)).subquery("counted")
    c = counted.c
    village = {"partition_by": c.unit_id}
    ranked = (select(c.unit_id, c.text,
                     func.row_number().over(**village, order_by=(c.date.desc(), c.updated_at.desc(),
                                                                 c.id)).label("place"),
                     func.count().over(**village).label("journals"),
                     func.min(c.date).over(**village).label("first_day"),
                     func.max(c.date).over(**village).label("last_day"),
                     func.coalesce(func.sum(c.visits).over(**village), 0).label("visits"),
                     func.coalesce(func.sum(c.photos).over(**village), 0).label("photos"))
              .subquery("ranked"))
    rows = db.session.execute(select(ranked).where(ranked.c.place <= NEWEST_SHOWN)
                              .order_by(ranked.c.unit_id, ranked.c.place)).all()
    units = {u.id: u for u in scope.villages(user)}
    out: dict[int, VillageDigest] = {}
    for row in rows:
        if row.unit_id not in units:
            continue
        if row.unit_id not in out:
            out[row.unit_id] = VillageDigest(units[row.unit_id], row.journals, row.first_day, row.last_day,
                                             int(row.visits), per_village.get(row.unit_id, row.journals),
                                             int(row.photos))
        out[row.unit_id].newest.append(first_line(row.text))
    return sorted(out.values(), key=lambda d: d.village.code)
