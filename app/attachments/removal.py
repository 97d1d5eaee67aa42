"""A photo taken back (`removed` set true by any op, through the one write path): its file, thumbnail and any
partial upload leave storage once the transaction that removed it commits, never before (a rolled-back op
keeps them). The row's keys are cleared in the same write."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from ..models import Attachment
from .storage import storage
from .upload import partial_key

PENDING = "removed_photo_files"  # session.info: (storage, key) to delete after the commit


def keys_of(row: Attachment) -> set[str]:
    """Every key the photo's bytes may be under: the row's own, and those an upload finishing meanwhile
    (in another transaction) would have written."""
    keys = {row.stored_key, row.thumb_key, row.id, f"{row.id}.thumb.jpg", partial_key(row.id)}
    return {key for key in keys if key}


@event.listens_for(Session, "before_flush")
def _removing(session: Session, _context, _instances) -> None:
    for row in list(session.dirty) + list(session.new):
        if isinstance(row, Attachment) and row.removed and inspect(row).attrs.removed.history.added:
            store = storage()
            session.info.setdefault(PENDING, []).extend((store, key) for key in sorted(keys_of(row)))
            row.stored_key = row.thumb_key = None
            flag_modified(row, "stored_key")  # written even when this row never saw them set
            flag_modified(row, "thumb_key")


@event.listens_for(Session, "after_commit")
def _delete_files(session: Session) -> None:
    for store, key in session.info.pop(PENDING, []):
        try:
            store.delete(key)
        except OSError:  # the record is removed whatever happens here; the file is logged for an operator
            current_app.logger.exception("could not delete the removed photo's file %s", key)


@event.listens_for(Session, "after_rollback")
def _keep_files(session: Session) -> None:
    session.info.pop(PENDING, None)
