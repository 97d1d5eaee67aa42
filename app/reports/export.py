"""Everything in the user's scope as a SQLite file, ready for Datasette; personal data masked as in the pages,
by the same views (township.records) the pages get."""
from __future__ import annotations

import tempfile
from pathlib import Path

import sqlite_utils
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from sync.engine import Actor
from sync.types import TYPES

from ..extensions import db
from ..models import SYNCED_MODELS, Unit
from ..township import records

COLUMN_TYPES = {"int": int, "bool": bool}
TABLES = {"journal": "journals", "problem": "problems", "meeting": "meetings", "request": "requests", "task": "tasks",
          "review": "reviews", "attachment": "attachments"}  # photos' records; the image files are not in it yet


def export_sqlite(actor: Actor) -> bytes:
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
        target.close()
        return path.read_bytes()


def _row(view: records.RecordView) -> dict:
    return {"id": view.id, "village": view.village_code, "author": view.author or None,
            "created_at": view.created_at.isoformat(), "updated_at": view.updated_at.isoformat(),
            "version": view.version, **view.fields}
