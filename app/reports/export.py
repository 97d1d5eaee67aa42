"""Everything in the user's scope as a SQLite file, ready for Datasette; personal data masked as in the pages,
by the same views (township.records) the pages get. `export_zip`: that file and the photos beside it."""
from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path
from typing import IO

import sqlite_utils
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from sync.engine import Actor
from sync.types import TYPES

from ..attachments.storage import storage
from ..extensions import db
from ..models import SYNCED_MODELS, Attachment, Unit, utcnow
from ..township import records

COLUMN_TYPES = {"int": int, "bool": bool}
TABLES = {"journal": "journals", "problem": "problems", "meeting": "meetings", "request": "requests", "task": "tasks",
          "review": "reviews", "attachment": "attachments"}  # photos' records; their files are in export_zip
EXTENSIONS = {"image/jpeg": "jpg", "image/webp": "webp", "image/png": "png"}
SQLITE_NAME = "zhucun-export.sqlite"


def export_sqlite(actor: Actor, photo_files: dict[str, str] | None = None) -> bytes:
    """`photo_files` ({attachment id: its name in the zip}): the zip's export, whose attachments table says which
    file beside it is each photo (`file`, empty for a photo not uploaded or removed)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.sqlite"
        target = sqlite_utils.Database(path)
        units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(actor.village_ids)))}
        parents = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_({u.parent_id for u in units.values()})))}
        target["villages"].insert_all(({"code": u.code, "name": u.name, "township": parents[u.parent_id].name}
                                       for u in units.values()), pk="code")
        for rtype, model in SYNCED_MODELS.items():
            spec = TYPES[rtype]
            rows = db.session.scalars(select(model).where(model.unit_id.in_(actor.village_ids),
                                                          model.deleted.is_(False))
                                      .options(selectinload(model.unit)).order_by(model.seq))
            columns = {"id": str, "village": str, "author": str, "created_at": str, "updated_at": str, "version": int}
            columns |= {name: COLUMN_TYPES.get(f.kind, str) for name, f in spec.fields.items()}
            target[TABLES[rtype]].create(columns, pk="id", foreign_keys=[("village", "villages", "code")])
            target[TABLES[rtype]].insert_all((_row(view) for view in records.views(actor, rtype, rows)), alter=True)
            target[TABLES[rtype]].create_index(["village"])
        if photo_files is not None:
            photos = target[TABLES["attachment"]]
            photos.add_column("file", str)
            for attachment_id, name in photo_files.items():
                photos.update(attachment_id, {"file": name})
        target.close()
        return path.read_bytes()


def _row(view: records.RecordView) -> dict:
    return {"id": view.id, "village": view.village_code, "author": view.author or None,
            "created_at": view.created_at.isoformat(), "updated_at": view.updated_at.isoformat(),
            "version": view.version, **view.fields}


def export_zip(actor: Actor) -> IO[bytes]:
    """The SQLite export and `photos/<attachment id>.<ext>` for every completed upload in the actor's scope, as
    a zip in an anonymous temporary file (rewound; closing it deletes it). One photo in memory at a time, and
    stored as it is: JPEG, WebP and PNG are compressed already."""
    out = tempfile.TemporaryFile()
    try:
        photos = list(db.session.execute(_completed_photos(actor)))
        with zipfile.ZipFile(out, "w") as archive:
            files = {photo.id: photo_name(photo.id, photo.mime) for photo in photos}
            archive.writestr(zipfile.ZipInfo(SQLITE_NAME, _zip_time(None)), export_sqlite(actor, files),
                             compress_type=zipfile.ZIP_DEFLATED)
            store = storage()
            for photo in photos:
                info = zipfile.ZipInfo(photo_name(photo.id, photo.mime), _zip_time(photo.completed_at))
                archive.writestr(info, store.read(photo.stored_key), compress_type=zipfile.ZIP_STORED)
        out.seek(0)
        return out
    except BaseException:
        out.close()
        raise


def photo_name(attachment_id: str, mime: str) -> str:
    return f"photos/{attachment_id}.{EXTENSIONS.get(mime, 'bin')}"


def _completed_photos(actor: Actor):
    """The live photos of the actor's villages whose bytes are all in, as the attachments table lists them (a
    removed photo's row stays there, `removed` 1, its file gone)."""
    return (select(Attachment.id, Attachment.mime, Attachment.stored_key, Attachment.completed_at)
            .where(Attachment.unit_id.in_(actor.village_ids), Attachment.deleted.is_(False),
                   Attachment.removed.is_(False),
                   Attachment.completed_at.is_not(None), Attachment.stored_key.is_not(None))
            .order_by(Attachment.seq))


def _zip_time(value) -> tuple:
    """A zip entry's time (Beijing time, as the pages show it); now for the export itself."""
    local = records.parse_time(value) if value is not None else records.parse_time(utcnow())
    return local.timetuple()[:6]
