"""An upload's state: chunks appended under the record's row lock, the whole checked once every byte is in."""
from __future__ import annotations

import hashlib

from sqlalchemy import select, update

from ..extensions import db
from ..models import Attachment, utcnow
from . import images
from .storage import Storage, storage


class Refused(Exception):
    """The chunk or the finished file is refused; `offset` is where the upload now stands."""

    def __init__(self, status: int, code: str, message: str, offset: int):
        super().__init__(message)
        self.status, self.code, self.message, self.offset = status, code, message, offset


def partial_key(record_id: str) -> str:
    return f"partial/{record_id}"


def append(record_id: str, offset: int, chunk: bytes) -> Attachment:
    """Append `chunk` at `offset` and, when it is the last, check and store the photo; commit either way.

    Two requests at the same offset (a phone retrying while its first try is still arriving) queue on the
    row's lock: the first appends, the second finds the offset moved and is refused with 409.
    """
    db.session.commit()  # end the request's reads, so the locked row below is the latest one
    row = _locked(record_id)
    if row.removed:  # taken back while this chunk was on its way: nothing of it is kept
        db.session.commit()
        storage().delete(partial_key(row.id))
        raise Refused(404, "not_found", "No such photo in your scope.", 0)
    if row.completed_at is not None:
        db.session.commit()
        return row
    if row.received != offset:
        received = row.received
        db.session.commit()
        raise Refused(409, "wrong_offset", f"The upload stands at byte {received}, not {offset}.", received)
    store = storage()
    store.append(partial_key(row.id), offset, chunk)
    row.received = offset + len(chunk)
    if row.received == row.bytes:
        try:
            _complete(store, row)
        except Refused:
            store.delete(partial_key(row.id))
            row.received = 0
            db.session.commit()
            raise
    db.session.commit()
    return row


def _locked(record_id: str) -> Attachment:
    if db.session.get_bind().dialect.name == "sqlite":  # no row locks: a write takes the database's lock
        db.session.execute(update(Attachment).where(Attachment.id == record_id)
                           .values(received=Attachment.received).execution_options(synchronize_session=False))
        query = select(Attachment)
    else:
        query = select(Attachment).with_for_update()
    query = query.where(Attachment.id == record_id).execution_options(populate_existing=True)
    return db.session.scalars(query).one()


def _complete(store: Storage, row: Attachment) -> None:
    data = store.read(partial_key(row.id))
    if len(data) != row.bytes or hashlib.sha256(data).hexdigest() != row.sha256:
        raise Refused(422, "digest_mismatch", "The bytes received do not have the declared size and SHA-256; "
                                              "they were dropped. Send the photo again from byte 0.", 0)
    try:
        checked = images.check(data, row.mime)
        thumb = images.thumbnail(checked.data)
    except images.BadImage as bad:
        raise Refused(422, bad.code, bad.message + " It was dropped.", 0) from None
    final, thumb_key = row.id, f"{row.id}.thumb.jpg"
    store.put(thumb_key, thumb)
    if checked.stripped:
        store.put(final, checked.data)
        store.delete(partial_key(row.id))
    else:
        store.move(partial_key(row.id), final)
    row.stored_key, row.thumb_key = final, thumb_key
    row.stored_sha256 = hashlib.sha256(checked.data).hexdigest()
    row.stored_bytes = len(checked.data)
    row.completed_at = utcnow()
