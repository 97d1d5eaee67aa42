"""The admin's import in two steps: the upload is kept under the instance folder (a random id, its
SHA-256) and previewed; confirming re-reads those exact bytes, plans again and applies the plan only if
it is the one previewed — the same file against the same list (`plan_digest`)."""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..extensions import db
from ..models import Task, Unit, WorkItem, utcnow
from . import service

MAX_BYTES = 2 * 1024 * 1024
KEEP_SECONDS = 24 * 3600          # an upload nobody confirmed is swept after a day
FOLDER = "worklist-uploads"
_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

FIELD_LABELS = {"code": _l("Code"), "name": _l("Name"), "basis": _l("Basis"), "department": _l("Department"),
                "effort_hours": _l("Effort (hours)"), "status": _l("Status")}


class UploadGone(LookupError):
    """No such upload (already imported, swept, never made), or not this admin's."""


class UploadAltered(ValueError):
    """The stored bytes no longer match their digest."""


@dataclass
class Upload:
    id: str
    filename: str
    sha256: str
    size: int
    user_id: int
    county_id: int
    uploaded_at: str
    data: bytes = field(default=b"", repr=False)


def _folder() -> Path:
    path = Path(current_app.instance_path) / FOLDER
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _sweep(folder: Path) -> None:
    cutoff = time.time() - KEEP_SECONDS
    for path in folder.glob("*.bin"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                path.with_suffix(".json").unlink(missing_ok=True)
        except OSError:
            pass


def save(filename: str, data: bytes, user_id: int, county_id: int) -> Upload:
    folder = _folder()
    _sweep(folder)
    upload = Upload(id=secrets.token_urlsafe(18), filename=Path(filename or "list.csv").name[:150],
                    sha256=hashlib.sha256(data).hexdigest(), size=len(data), user_id=user_id,
                    county_id=county_id, uploaded_at=utcnow().isoformat())
    (folder / f"{upload.id}.bin").write_bytes(data)
    meta = {k: v for k, v in upload.__dict__.items() if k != "data"}
    (folder / f"{upload.id}.json").write_text(json.dumps(meta), encoding="utf-8")
    return upload


def load(upload_id: str, user_id: int, county_id: int) -> Upload:
    if not isinstance(upload_id, str) or not _ID.match(upload_id):
        raise UploadGone(upload_id)
    folder = _folder()
    try:
        meta = json.loads((folder / f"{upload_id}.json").read_text(encoding="utf-8"))
        data = (folder / f"{upload_id}.bin").read_bytes()
    except (OSError, ValueError):
        raise UploadGone(upload_id) from None
    upload = Upload(**meta, data=data)
    if upload.user_id != user_id or upload.county_id != county_id:
        raise UploadGone(upload_id)
    if hashlib.sha256(data).hexdigest() != upload.sha256:
        raise UploadAltered(upload_id)
    return upload


def discard(upload_id: str) -> None:
    if isinstance(upload_id, str) and _ID.match(upload_id):
        folder = _folder()
        (folder / f"{upload_id}.bin").unlink(missing_ok=True)
        (folder / f"{upload_id}.json").unlink(missing_ok=True)


def plan_digest(county: Unit, file_sha256: str) -> str:
    """The file and the county's whole list as it stands: equal digests, equal plans."""
    items = sorted(service.county_items(county).values(), key=lambda i: i.code)
    body = {"file": file_sha256, "list": [service.snapshot(i) for i in items]}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


# ---------------------------------------------------------------- the preview

@dataclass
class FieldChange:
    name: str
    label: str
    before: object
    after: object


@dataclass
class UpdatedItem:
    item: WorkItem
    new: dict
    changes: list[FieldChange]
    open_tasks: int = 0


@dataclass
class Preview:
    plan: service.Plan
    added: list[dict]
    updated: list[UpdatedItem]
    retired: list[tuple[WorkItem, int]]    # (item, open tasks that use it)
    unchanged: int
    digest: str

    @property
    def changes(self) -> int:
        return self.plan.changes

    @property
    def open_tasks(self) -> int:
        return sum(u.open_tasks for u in self.updated) + sum(n for _, n in self.retired)


def changed_fields(before: dict | None, after: dict) -> list[FieldChange]:
    names = [n for n in FIELD_LABELS if n in after or (before and n in before)]
    return [FieldChange(n, str(FIELD_LABELS[n]), (before or {}).get(n), after.get(n)) for n in names
            if before is None or before.get(n) != after.get(n)]


def _open_tasks(county: Unit, codes: set[str]) -> dict[str, int]:
    """{code: township tasks of the county's villages still open under it}: what a retirement leaves behind."""
    if not codes:
        return {}
    villages = select(Unit.id).where(Unit.path.startswith(county.path), Unit.level == "village")
    query = (select(Task.item_code, func.count(Task.id))
             .where(Task.unit_id.in_(villages), Task.item_code.in_(codes), Task.origin == "township",
                    Task.deleted.is_(False), Task.status != "done", Task.gate.in_(("pending", "returned", "approved")))
             .group_by(Task.item_code))
    return dict(db.session.execute(query).all())


def preview(county: Unit, plan: service.Plan, file_sha256: str) -> Preview:
    updated = [UpdatedItem(item, new, changed_fields(service.snapshot(item), {"code": item.code, **new}))
               for item, new in plan.updated]
    closing = {u.item.code for u in updated if u.new.get("status") in ("retired", "cancelled")}
    closing |= {item.code for item in plan.retired}
    counts = _open_tasks(county, closing)
    for u in updated:
        if u.item.code in closing:
            u.open_tasks = counts.get(u.item.code, 0)
    return Preview(plan=plan, added=plan.added, updated=updated,
                   retired=[(item, counts.get(item.code, 0)) for item in plan.retired],
                   unchanged=plan.unchanged, digest=plan_digest(county, file_sha256))


def lock_county(county: Unit) -> None:
    """On PostgreSQL, hold the county's row until commit, so two confirmations do not interleave."""
    db.session.execute(select(Unit.id).where(Unit.id == county.id).with_for_update())

