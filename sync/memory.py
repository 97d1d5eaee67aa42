"""An in-memory Store: the engine's rules without a database, for tests and simulations."""
from __future__ import annotations

import copy

from .engine import Actor, Logged
from .merge import Current, Merge


class MemoryStore:
    def __init__(self, units: dict[str, int] | None = None):
        self.units = dict(units or {})
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
        return Current(row["version"], dict(row["fields"]), dict(row["field_versions"]), row["unit_id"], row["deleted"])

    def unit_id_for_code(self, code):
        return self.units.get(code)

    def write(self, rtype, record_id, unit_id, result: Merge, actor: Actor, created: bool):
        self.seq += 1
        self.records[(rtype, record_id)] = {
            "type": rtype, "id": record_id, "unit_id": unit_id, "version": result.version,
            "fields": dict(result.fields), "field_versions": dict(result.field_versions),
            "deleted": False, "seq": self.seq,
        }

    def log(self, op, actor, unit_id, result, conflicts):
        op_id = op["op"] if isinstance(op, dict) else op.op
        self.oplog[op_id] = copy.deepcopy(result) | {"user_id": actor.user_id, "conflicts": conflicts}

    def current_seq(self):
        return self.seq

    def changes(self, village_ids, after, upto, limit):
        rows = sorted((r for r in self.records.values()
                       if r["unit_id"] in village_ids and after < r["seq"] <= upto), key=lambda r: r["seq"])
        return [{"type": r["type"], "id": r["id"], "version": r["version"], "deleted": r["deleted"],
                 "fields": dict(r["fields"]), "seq": r["seq"]} for r in rows[:limit]]
