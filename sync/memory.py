"""An in-memory Store: the engine's rules without a database, for tests and simulations."""
from __future__ import annotations

import copy

from . import gate
from .engine import Actor, Logged
from .merge import Current, Merge


class MemoryStore:
    def __init__(self, units: dict[str, int] | None = None, users: dict[str, int] | None = None,
                 work_items: dict[str, dict] | None = None):
        self.units = dict(units or {})
        self.work_items = dict(work_items or {})  # code → item (one county)
        self.users = dict(users or {})  # username → unit id
        self.records: dict[tuple[str, str], dict] = {}
        self.oplog: dict[str, dict] = {}
        self.seq = 0

    def begin_writes(self, ops) -> None:
        pass

    def end_writes(self) -> None:
        pass

    def find_op(self, op_id):
        entry = self.oplog.get(op_id)
        if entry is None:
            return None
        return Logged(entry["status"], entry.get("version"), entry.get("error"))

    def load(self, rtype, record_id):
        row = self.records.get((rtype, record_id))
        if row is None:
            return None
        return Current(row["version"], dict(row["fields"]), dict(row["field_versions"]), row["unit_id"],
                       row["deleted"], copy.deepcopy(row["conflicts"]), row["created_by"])

    def unit_id_for_code(self, code):
        return self.units.get(code)

    def user_in_unit(self, username, unit_id):
        return self.users.get(username) == unit_id

    def write(self, rtype, record_id, unit_id, result: Merge, actor: Actor, created: bool):
        self.seq += 1
        created_by = actor.user_id if created else self.records[(rtype, record_id)]["created_by"]
        self.records[(rtype, record_id)] = {"created_by": created_by,
            "type": rtype, "id": record_id, "unit_id": unit_id, "version": result.version,
            "fields": dict(result.fields), "field_versions": dict(result.field_versions),
            "deleted": False, "seq": self.seq, "conflicts": copy.deepcopy(result.open_conflicts),
        }

    def log(self, op, actor, unit_id, result, conflicts):
        raw = op if isinstance(op, dict) else {"op": op.op, "type": op.type, "id": op.id, "set": op.set, "ack": op.ack}
        self.oplog[raw["op"]] = copy.deepcopy(result) | {
            "user_id": actor.user_id, "conflicts": copy.deepcopy(conflicts), "type": raw.get("type"),
            "id": raw.get("id"), "set": copy.deepcopy(raw.get("set")), "n": len(self.oplog),
            "ack": raw.get("ack") is True}

    def current_seq(self):
        return self.seq

    def work_item(self, unit_id, code):
        return self.work_items.get(code)

    def duplicate_task(self, unit_id, task_id, item_code, title_key, window_days):
        for r in sorted(self.records.values(), key=lambda r: r["seq"]):
            f = r["fields"]
            if (r["type"] == "task" and r["unit_id"] == unit_id and r["id"] != task_id and f.get("origin") == "township"
                    and f.get("gate") not in ("rejected", "withdrawn") and f.get("status") != "done"
                    and (f.get("item_code") == item_code if item_code
                         else not f.get("item_code") and gate.title_key(f.get("title")) == title_key)):
                return r["id"]
        return None

    def changes(self, village_ids, after, upto, limit, village_view=False):
        rows = sorted((r for r in self.records.values()
                       if r["unit_id"] in village_ids and after < r["seq"] <= upto
                       and (not village_view or r["type"] != "task" or gate.reaches_village(r["fields"]))),
                      key=lambda r: r["seq"])
        return [{"type": r["type"], "id": r["id"], "version": r["version"], "deleted": r["deleted"],
                 "fields": dict(r["fields"]), "conflicts": copy.deepcopy(r["conflicts"]),
                 "unit_id": r["unit_id"], "seq": r["seq"]} for r in rows[:limit]]

    def history(self, rtype, record_id):
        entries = sorted((e for e in self.oplog.values() if e["type"] == rtype and e["id"] == record_id),
                         key=lambda e: e["n"])
        return [{"op": e["op"], "status": e["status"], "changes": e["set"] or {}, "conflicts": e["conflicts"],
                 "ack": e.get("ack", False)}
                for e in entries]

    def reviews_of(self, rtype, record_id, unit_id):
        rows = sorted((r for r in self.records.values() if r["type"] == "review" and r["unit_id"] == unit_id
                       and r["fields"]["target_type"] == rtype and r["fields"]["target_id"] == record_id),
                      key=lambda r: r["seq"])
        return [{"id": r["id"], **r["fields"]} for r in rows]
