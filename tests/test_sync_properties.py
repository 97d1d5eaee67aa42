"""Property tests of the engine: two phones of one village and the township, with deliveries dropped,
duplicated and replayed out of order. Once everything is delivered every replica equals the server,
no accepted op is lost or applied twice, and every overwritten value is in the history."""
import copy
import uuid

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sync import Actor, apply_ops, pull
from sync.engine import history
from sync.memory import MemoryStore

VILLAGE = 1
ACTORS = {
    "phone_a": Actor(1, "secretary", VILLAGE, frozenset({VILLAGE}), "dev-a", "sec"),
    "phone_b": Actor(2, "cadre", VILLAGE, frozenset({VILLAGE}), "dev-b", "cadre"),
    "township": Actor(3, "township_staff", 10, frozenset({VILLAGE}), "dev-t", "staff"),
}
PROBLEMS = [str(uuid.UUID(int=n)) for n in range(1, 3)]
JOURNALS = [str(uuid.UUID(int=n)) for n in range(10, 12)]
WORDS = st.sampled_from(["水渠渗漏", "垃圾池满", "路灯坏了", "已联系镇里", "志愿者轮流清理", "已修好"])


class Replica:
    """A device: the server's copy of each record it has seen, its outbox (the local edits laid over
    that copy, as the phone shows them) and the requests it has sent (for replays)."""

    def __init__(self, name):
        self.name, self.actor = name, ACTORS[name]
        self.server_copy, self.outbox, self.sent, self.cursor = {}, [], [], 0

    def shown(self, record_id):
        fields = dict(self.server_copy.get(record_id, {}).get("fields", {}))
        for op in self.outbox:
            if op["id"] == record_id:
                fields.update(op["set"])
        return fields

    def edit(self, rtype, record_id, changes):
        known = self.server_copy.get(record_id)
        base = known["version"] if known else None
        if known is None and rtype == "problem":
            changes = {"title": "新问题"} | changes
        if known is None and rtype == "journal":
            changes = {"text": "日志"} | changes
        op = {"op": str(uuid.uuid4()), "type": rtype, "id": record_id, "base": base, "set": changes}
        if self.actor.role == "township_staff" and known is None:
            op["unit"] = "V1"
        self.outbox.append(op)

    def deliver(self, server, mode):
        if not self.outbox or mode == "lost_request":
            return
        request = copy.deepcopy(self.outbox[:5])
        self.sent.append(request)
        results = apply_ops(server, self.actor, request)
        if mode == "duplicated":
            results = apply_ops(server, self.actor, request)
        if mode == "lost_response":
            return
        done = {r["op"] for r in results}
        self.outbox = [op for op in self.outbox if op["op"] not in done]

    def replay_old(self, server, index):
        if self.sent:
            apply_ops(server, self.actor, self.sent[index % len(self.sent)])

    def pull(self, server):
        more = True
        while more:
            page = pull(server, self.actor, self.cursor, 3)
            for change in page["changes"]:
                self.server_copy[change["id"]] = {"version": change["version"], "fields": change["fields"]}
            self.cursor, more = page["cursor"], page["more"]


def problem_edit():
    return st.one_of(
        st.fixed_dictionaries({"detail": WORDS}),
        st.fixed_dictionaries({"title": WORDS}),
        st.fixed_dictionaries({"status": st.sampled_from(["in_progress", "open"])}),
        st.fixed_dictionaries({"status": st.just("resolved"), "resolution": WORDS}),
        st.fixed_dictionaries({"status": st.just("verified")}),
        st.fixed_dictionaries({"status": st.just("open"), "reopen_reason": WORDS}),
        st.fixed_dictionaries({"urgent": st.booleans()}),
    )


ACTIONS = st.one_of(
    st.tuples(st.just("edit"), st.sampled_from(sorted(ACTORS)), st.sampled_from(PROBLEMS), problem_edit()),
    st.tuples(st.just("edit"), st.sampled_from(["phone_a", "phone_b"]), st.sampled_from(JOURNALS),
              st.fixed_dictionaries({"text": WORDS})),
    st.tuples(st.just("deliver"), st.sampled_from(sorted(ACTORS)),
              st.sampled_from(["ok", "ok", "lost_request", "lost_response", "duplicated"])),
    st.tuples(st.just("replay"), st.sampled_from(sorted(ACTORS)), st.integers(0, 20)),
    st.tuples(st.just("pull"), st.sampled_from(sorted(ACTORS))),
)


def snapshot(server):
    return {key: (row["version"], row["fields"], row["conflicts"]) for key, row in server.records.items()}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(st.lists(ACTIONS, min_size=5, max_size=60))
def test_everything_delivered_means_every_replica_equals_the_server(actions):
    server = MemoryStore(units={"V1": VILLAGE}, users={"sec": VILLAGE, "cadre": VILLAGE})
    devices = {name: Replica(name) for name in ACTORS}
    for action in actions:
        kind, name = action[0], action[1]
        device = devices[name]
        if kind == "edit":
            rtype = "problem" if action[2] in PROBLEMS else "journal"
            device.edit(rtype, action[2], dict(action[3]))
        elif kind == "deliver":
            device.deliver(server, action[2])
        elif kind == "replay":
            device.replay_old(server, action[2])
        else:
            device.pull(server)

    for device in devices.values():
        while device.outbox:
            device.deliver(server, "ok")
    for device in devices.values():
        device.pull(server)

    state = {record_id: (row["version"], row["fields"]) for (_, record_id), row in server.records.items()}
    for device in devices.values():
        mine = {record_id: (r["version"], device.shown(record_id)) for record_id, r in device.server_copy.items()}
        assert mine == state, device.name

    outcomes = {entry["status"] for entry in server.oplog.values()}
    event("some ops merged" if "merged" in outcomes else "no merge")
    event("a conflict" if any(entry["conflicts"] for entry in server.oplog.values()) else "no conflict")

    # Nothing is applied twice: replaying every request ever sent changes nothing.
    before = snapshot(server)
    for device in devices.values():
        for request in device.sent:
            assert all(r["status"] == "duplicate" for r in apply_ops(server, device.actor, request))
    assert snapshot(server) == before

    # No accepted op is lost, and every value anyone set, kept or not, is in the record's history.
    sent = {op["op"]: op for device in devices.values() for request in device.sent for op in request}
    assert set(server.oplog) == set(sent)
    township = ACTORS["township"]
    for (rtype, record_id), row in server.records.items():
        entries = history(server, township, rtype, record_id)
        logged = {entry["op"]: entry for entry in entries}
        accepted = [op for op in sent.values() if op["id"] == record_id
                    and server.oplog[op["op"]]["status"] in ("applied", "merged")]
        for op in accepted:
            assert logged[op["op"]]["changes"] == op["set"]
        lost = [(c["field"], c["lost"]) for entry in entries for c in entry["conflicts"]]
        for field, value in lost:
            assert any(field in e["changes"] for e in entries), (field, value)
        assert row["version"] <= 1 + len(accepted)
