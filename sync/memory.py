"""An in-memory Store: the engine's rules without a database, for tests and simulations.

It answers as SqlStore does — the same rows (rows.py), authors, times, units and
order; tests/test_store_contract.py runs one suite against both.
"""
from __future__ import annotations

import copy
import datetime as dt

from . import gate
from .digest import rejected_payload
from .engine import Actor, Logged
from .merge import Current, Merge
from .rows import ChangeRow, HistoryRow, ReviewRow
from .types import TYPES


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


ONE_COUNTY = 0  # the county of a village the store was not told about


class MemoryStore:
    def __init__(self, units: dict[str, int] | None = None, users: dict[str, int] | None = None,
                 work_items: dict[str, dict] | None = None, devices: dict[str, str] | None = None,
                 counties: dict[int, int] | None = None):
        self.units = dict(units or {})  # village code → id
        self.county_of = dict(counties or {})  # village id → its county's id (else ONE_COUNTY)
        self.work_items = dict(work_items or {})  # code → item (one county)
        self.users = dict(users or {})  # username → unit id
        self.devices = dict(devices or {})  # device id → its name
        self.records: dict[tuple[str, str], dict] = {}
        self.oplog: dict[str, dict] = {}
        self.seqs: dict[int, int] = {}  # county → its change sequence's last number
        self._clock = dt.datetime.min

    def now(self) -> dt.datetime:
        """Server time (naive UTC), strictly increasing: every write and every op has its own moment."""
        self._clock = max(_utcnow(), self._clock + dt.timedelta(microseconds=1))
        return self._clock

    @property
    def seq(self) -> int:
        """The highest number any county has handed out."""
        return max(self.seqs.values(), default=0)

    def begin_writes(self, ops, actor) -> None:
        pass

    def end_writes(self) -> None:
        pass

    def find_op(self, op_id):
        entry = self.oplog.get(op_id)
        if entry is None:
            return None
        error = entry.get("error")
        # What the op log keeps of an error: its code and message (SqlStore's op log has no field column).
        return Logged(entry["status"], entry.get("version"),
                      {"code": error["code"], "message": error["message"]} if error else None)

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
        now = self.now()
        before = None if created else self.records[(rtype, record_id)]
        county = self._county(unit_id)
        self.records[(rtype, record_id)] = {
            "type": rtype, "id": record_id, "unit_id": unit_id, "county": county, "version": result.version,
            "fields": dict(result.fields), "field_versions": dict(result.field_versions),
            "deleted": before["deleted"] if before else False, "seq": self._next_seq(county),
            "conflicts": copy.deepcopy(result.open_conflicts),
            "created_by": before["created_by"] if before else actor.user_id,
            "author": before["author"] if before else actor.username,
            "created_at": before["created_at"] if before else now, "updated_at": now,
            "reached_at": _reached_at(rtype, result.fields, before, now),
        }
        if rtype == "task" and before and not before["fields"].get("sent_on") and result.fields.get("sent_on"):
            self._bring_thread(record_id, county)

    def _county(self, unit_id) -> int:
        return self.county_of.get(unit_id, ONE_COUNTY)

    def _next_seq(self, county) -> int:
        self.seqs[county] = self.seqs.get(county, 0) + 1
        return self.seqs[county]

    def _bring_thread(self, task_id, county):
        """A township task reaching its village now: its thread, hidden from the village until now, must
        come with it in the next pull of a phone whose cursor is already past the comments."""
        for review in sorted(self._reviews_on("task", task_id), key=lambda r: r["seq"]):
            review["seq"] = self._next_seq(county)

    def _note_arrival(self, op, actor: Actor) -> None:
        """Who sent the op, from which device and when: what its history shows."""
        op_id, at = (op["op"], op.get("at")) if isinstance(op, dict) else (op.op, op.at)
        self.oplog[op_id].update(user=actor.username, device_id=actor.device_id,
                                 at=str(at)[:40] if at else None, received_at=self.now())

    def log(self, op, actor, unit_id, result, conflicts):
        raw = op if isinstance(op, dict) else {"op": op.op, "type": op.type, "id": op.id, "set": op.set, "ack": op.ack}
        self.oplog[raw["op"]] = copy.deepcopy(result) | {
            "user_id": actor.user_id, "conflicts": copy.deepcopy(conflicts), "type": raw.get("type"),
            "id": raw.get("id"), "n": len(self.oplog),
            "set": copy.deepcopy(rejected_payload(raw.get("set", {})) if result["status"] == "rejected" else raw["set"]),
            "ack": raw.get("ack") is True}
        self._note_arrival(op, actor)

    def counties(self, village_ids):
        grouped: dict[int, set] = {}
        for village in village_ids:
            grouped.setdefault(self._county(village), set()).add(village)
        return {county: frozenset(villages) for county, villages in grouped.items()}

    def current_seq(self, county=None):
        return self.seq if county is None else self.seqs.get(county, 0)

    def work_item(self, unit_id, code):
        return self.work_items.get(code)

    def duplicate_task(self, unit_id, task_id, item_code, title_key, window_days):
        """The earliest live township task of the village, made before this one, with the same item
        (off-list: the same title) that is not done, or was done within the window."""
        since = _utcnow() - dt.timedelta(days=window_days)
        mine = self.records.get(("task", task_id))
        earlier = sorted((r for r in self.records.values() if r["type"] == "task" and r["unit_id"] == unit_id
                          and r["id"] != task_id and (mine is None or r["created_at"] < mine["created_at"])),
                         key=lambda r: (r["created_at"], r["id"]))
        for r in earlier:
            if _live_township_task(r, since) and _same_item(r["fields"], item_code, title_key):
                return r["id"]
        return None

    def changes(self, county, village_ids, after, upto, limit, village_view=False):
        rows = sorted((r for r in self.records.values()
                       if r["county"] == county and r["unit_id"] in village_ids and after < r["seq"] <= upto
                       and (not village_view or self._village_sees(r))),
                      key=lambda r: r["seq"])
        codes = {unit_id: code for code, unit_id in self.units.items()}
        return [_change_row(r, codes.get(r["unit_id"])) for r in rows[:limit]]

    def _village_sees(self, row) -> bool:
        """What a village user's pull leaves out: township tasks not yet approved, and comments on them."""
        if row["type"] == "task":
            return gate.reaches_village(row["fields"])
        if row["type"] == "review" and row["fields"].get("target_type") == "task":
            task = self.records.get(("task", row["fields"].get("target_id")))
            return task is None or gate.reaches_village(task["fields"])
        return True

    def history(self, rtype, record_id):
        entries = sorted((e for e in self.oplog.values()
                          if e["type"] == rtype and e["id"] == record_id and e["status"] != "rejected"),
                         key=lambda e: (e["received_at"], e["op"]))
        return [HistoryRow(op=e["op"], user=e["user"], device=self.devices.get(e["device_id"]), at=e["at"],
                           received_at=e["received_at"], status=e["status"], changes=copy.deepcopy(e["set"] or {}),
                           conflicts=copy.deepcopy(e["conflicts"] or []), ack=e["ack"],
                           error=(e.get("error") or {}).get("code"))
                for e in entries]

    def reviews_of(self, rtype, record_id, unit_id):
        rows = sorted((r for r in self._reviews_on(rtype, record_id) if r["unit_id"] == unit_id and not r["deleted"]),
                      key=lambda r: (r["created_at"], r["seq"]))
        return [ReviewRow(id=r["id"], author=r["author"], created_at=r["created_at"], fields=_fields_of(r))
                for r in rows]

    def _reviews_on(self, rtype, record_id) -> list[dict]:
        return [r for r in self.records.values() if r["type"] == "review"
                and r["fields"].get("target_type") == rtype and r["fields"].get("target_id") == record_id]


def _reached_at(rtype, fields, before, now):
    """When the record reached its milestone (resolved, answered, done); cleared if it leaves it."""
    if fields.get("status") not in TYPES[rtype].milestone:
        return None
    return (before and before["reached_at"]) or now


def _live_township_task(row, since) -> bool:
    f = row["fields"]
    return (f.get("origin") == "township" and not row["deleted"] and f.get("gate") not in ("rejected", "withdrawn")
            and (f.get("status") != "done" or (row["reached_at"] is not None and row["reached_at"] >= since)))


def _same_item(fields, item_code, title_key) -> bool:
    if item_code:
        return fields.get("item_code") == item_code
    return not fields.get("item_code") and gate.title_key(fields.get("title")) == title_key


def _fields_of(row) -> dict:
    """Every field of the type, as the database's columns give them."""
    return {name: row["fields"].get(name) for name in TYPES[row["type"]].fields}


def _change_row(row, unit_code) -> ChangeRow:
    return ChangeRow(seq=row["seq"], type=row["type"], id=row["id"], unit_id=row["unit_id"], unit=unit_code,
                     version=row["version"], deleted=row["deleted"], author=row["author"],
                     created_at=row["created_at"], updated_at=row["updated_at"], fields=_fields_of(row),
                     conflicts=copy.deepcopy(row["conflicts"]), reached_at=row["reached_at"])
