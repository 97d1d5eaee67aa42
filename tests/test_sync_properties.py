"""Property tests of the engine: two phones of one village and the township, with deliveries dropped,
duplicated and replayed out of order. Once everything is delivered every replica equals the server,
no accepted op is lost or applied twice, and every overwritten value is in the history.

They run against every store: in memory with many examples, and on SQLite and PostgreSQL with fewer
(each example there is real transactions; the tables are emptied between examples)."""
import copy
import uuid

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.servers import STORES, opened_server

UNITS = [("C", "县", "county", None), ("T", "镇", "township", "C"), ("V1", "村", "village", "T")]
ACTORS = {"phone_a": "sec", "phone_b": "cadre", "township": "staff"}  # device → its user
USERS = [("sec", "secretary", "V1"), ("cadre", "cadre", "V1"), ("staff", "township_staff", "T")]
EXAMPLES = {"memory": 300, "sqlite": 150, "postgresql": 100}  # SQL: a few seconds each
PROBLEMS = [str(uuid.UUID(int=n)) for n in range(1, 3)]
JOURNALS = [str(uuid.UUID(int=n)) for n in range(10, 12)]
WORDS = st.sampled_from(["水渠渗漏", "垃圾池满", "路灯坏了", "已联系镇里", "志愿者轮流清理", "已修好"])


class Replica:
    """A device: the server's copy of each record it has seen, its outbox (the local edits laid over
    that copy, as the phone shows them) and the requests it has sent (for replays)."""

    def __init__(self, name, server):
        self.name, self.user = name, ACTORS[name]
        self.township = server.actors[self.user].role == "township_staff"
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
        if self.township and known is None:
            op["unit"] = "V1"
        self.outbox.append(op)

    def deliver(self, server, mode):
        if not self.outbox or mode == "lost_request":
            return
        request = copy.deepcopy(self.outbox[:5])
        self.sent.append(request)
        results = server.apply(self.user, request)
        if mode == "duplicated":
            results = server.apply(self.user, request)
        if mode == "lost_response":
            return
        done = {r["op"] for r in results}
        self.outbox = [op for op in self.outbox if op["op"] not in done]

    def replay_old(self, server, index):
        if self.sent:
            server.apply(self.user, self.sent[index % len(self.sent)])

    def pull(self, server):
        more = True
        while more:
            page = server.pull(self.user, self.cursor, 3)
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


@pytest.fixture(params=STORES)
def store_kind(request):
    return request.param


@pytest.fixture
def server(store_kind, tmp_path_factory):
    with opened_server(store_kind, tmp_path_factory, UNITS, USERS) as server:
        yield server


def test_everything_delivered_means_every_replica_equals_the_server(store_kind, server):
    @settings(max_examples=EXAMPLES[store_kind], deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(ACTIONS, min_size=5, max_size=60))
    def run(actions):
        server.reset()
        play_then_check(server, actions)

    run()


def play_then_check(server, actions):
    """Run the actions, deliver everything, then check the replicas, the replays and the history."""
    devices = {name: Replica(name, server) for name in ACTORS}
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

    records = server.records()
    state = {record_id: (version, fields) for (_, record_id), (version, fields, _) in records.items()}
    for device in devices.values():
        mine = {record_id: (r["version"], device.shown(record_id)) for record_id, r in device.server_copy.items()}
        assert mine == state, device.name

    oplog = server.oplog()
    event("some ops merged" if any(status == "merged" for status, _ in oplog.values()) else "no merge")
    event("a conflict" if any(conflicts for _, conflicts in oplog.values()) else "no conflict")

    # Nothing is applied twice: replaying every request ever sent changes nothing.
    for device in devices.values():
        for request in device.sent:
            assert all(r["status"] == "duplicate" for r in server.apply(device.user, request))
    assert server.records() == records

    # No accepted op is lost, and every value anyone set, kept or not, is in the record's history.
    sent = {op["op"]: op for device in devices.values() for request in device.sent for op in request}
    assert set(oplog) == set(sent)
    for (rtype, record_id), (version, _, _) in records.items():
        entries = server.history(ACTORS["township"], rtype, record_id)
        logged = {entry["op"]: entry for entry in entries}
        accepted = [op for op in sent.values() if op["id"] == record_id and oplog[op["op"]][0] in ("applied", "merged")]
        assert set(logged) == {op["op"] for op in accepted}  # rejected ops are not history
        for op in accepted:
            assert logged[op["op"]]["changes"] == op["set"]
        lost = [(c["field"], c["lost"]) for entry in entries for c in entry["conflicts"]]
        for field, value in lost:
            assert any(field in e["changes"] for e in entries), (field, value)
        assert version <= 1 + len(accepted)
