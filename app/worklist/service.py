"""Applying an import to a county's list: update by code, retire what the file no longer lists,
keep every change. A file with any bad row changes nothing."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import or_, select

from ..extensions import db
from ..models import Task, Unit, WorkItem, WorkItemChange, utcnow

ITEM_FIELDS = ("name", "basis", "department", "effort_hours", "status")


@dataclass
class Plan:
    """What an import would change: shown as a preview, then applied as it stands."""
    added: list[dict] = field(default_factory=list)
    updated: list[tuple[WorkItem, dict]] = field(default_factory=list)  # (item, the new values)
    retired: list[WorkItem] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changes(self) -> int:
        return len(self.added) + len(self.updated) + len(self.retired)


def snapshot(item: WorkItem) -> dict:
    return {"code": item.code, **{name: getattr(item, name) for name in ITEM_FIELDS}}


def county_items(county: Unit) -> dict[str, WorkItem]:
    return {i.code: i for i in db.session.scalars(select(WorkItem).where(WorkItem.county_id == county.id))}


def plan(county: Unit, items: list[dict]) -> Plan:
    current = county_items(county)
    out = Plan()
    for new in items:
        item = current.pop(new["code"], None)
        if item is None:
            out.added.append(new)
        elif any(getattr(item, name) != new[name] for name in ITEM_FIELDS):
            out.updated.append((item, new))
        else:
            out.unchanged += 1
    for item in current.values():
        if item.status == "active":  # a cancelled item stays on the cancelled list
            out.retired.append(item)
    return out


def apply(county: Unit, the_plan: Plan, user_id: int | None, source: str) -> str:
    """Write the plan and its history (one import id); the caller commits."""
    import_id = str(uuid.uuid4())
    now = utcnow()

    def record(item, action, before):
        db.session.add(WorkItemChange(item_id=item.id, import_id=import_id, action=action, before=before,
                                      after=snapshot(item), by_user=user_id, source=source[:200], at=now))

    for new in the_plan.added:
        item = WorkItem(county_id=county.id, updated_at=now, **new)
        db.session.add(item)
        db.session.flush()
        record(item, "added", None)
    for item, new in the_plan.updated:
        before = snapshot(item)
        for name in ITEM_FIELDS:
            setattr(item, name, new[name])
        item.updated_at = now
        record(item, "updated", before)
    for item in the_plan.retired:
        before = snapshot(item)
        item.status, item.updated_at = "retired", now
        record(item, "retired", before)
    db.session.flush()
    return import_id


def county_of(unit: Unit) -> Unit:
    """The county a unit belongs to (the first unit on its path)."""
    return db.session.get(Unit, int(unit.path.strip("/").split("/")[0]))


def search(county: Unit, q: str = "", statuses=("active",), limit: int = 50) -> list[WorkItem]:
    """Items of the county matching `q` in their code, name, basis or department; code order."""
    query = select(WorkItem).where(WorkItem.county_id == county.id)
    if statuses:
        query = query.where(WorkItem.status.in_(statuses))
    for word in (q or "").split()[:5]:
        # '%' and '_' are searched for as themselves (a code may hold '_'), never as wildcards.
        like = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(*(column.ilike(like, escape="\\") for column in
                                  (WorkItem.code, WorkItem.name, WorkItem.basis, WorkItem.department))))
    return list(db.session.scalars(query.order_by(WorkItem.code).limit(limit)))


def history(item: WorkItem) -> list[WorkItemChange]:
    return list(db.session.scalars(select(WorkItemChange).where(WorkItemChange.item_id == item.id)
                                   .order_by(WorkItemChange.at, WorkItemChange.id)))


def item_json(item: WorkItem) -> dict:
    return snapshot(item)


def open_tasks_of_closed_items(county: Unit, village_ids) -> list[tuple[Task, WorkItem]]:
    """Township tasks not done whose item has since been cancelled or retired: for the township to withdraw."""
    query = (select(Task, WorkItem).join(WorkItem, WorkItem.code == Task.item_code)
             .where(WorkItem.county_id == county.id, Task.unit_id.in_(village_ids), Task.origin == "township",
                    Task.deleted.is_(False), Task.status != "done", Task.gate.in_(("pending", "returned", "approved")),
                    WorkItem.status.in_(("cancelled", "retired")))
             .order_by(WorkItem.code, Task.created_at))
    return list(db.session.execute(query).all())
