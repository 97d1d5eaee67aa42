"""The sync engine on its own: merges, replays and rejections, with the in-memory store."""
import uuid

import pytest

from sync import Actor, EnvelopeError, apply_ops, parse_envelope, pull
from sync.memory import MemoryStore
from sync.merge import Current, merge
from sync.types import TYPES, shanghai_today

VILLAGE, OTHER = 1, 2
SECRETARY = Actor(user_id=1, role="secretary", home_unit_id=VILLAGE, village_ids=frozenset({VILLAGE}))
CADRE = Actor(user_id=2, role="cadre", home_unit_id=VILLAGE, village_ids=frozenset({VILLAGE}))
# Journals are changed only by their author: the second side of a merge is the author's other phone.
AUTHORS_OTHER_PHONE = SECRETARY
STAFF = Actor(user_id=3, role="township_staff", home_unit_id=10, village_ids=frozenset({VILLAGE, OTHER}))


def new_id():
    return str(uuid.uuid4())


def journal_op(record_id, base=None, **fields):
    return {"op": new_id(), "type": "journal", "id": record_id, "base": base, "set": fields}


@pytest.fixture
def store():
    return MemoryStore(units={"V1": VILLAGE, "V2": OTHER})


def test_create_then_edit_applies_and_bumps_version(store):
    rid = new_id()
    [created] = apply_ops(store, SECRETARY, [journal_op(rid, text="走访5户", date="2026-11-20")])
    assert created["status"] == "applied" and created["version"] == 1
    [edited] = apply_ops(store, SECRETARY, [journal_op(rid, base=1, places="村东组")])
    assert edited["status"] == "applied" and edited["version"] == 2
    assert store.load("journal", rid).fields == {
        "date": "2026-11-20", "text": "走访5户", "visits": None, "places": "村东组", "reflection": None}


def test_disjoint_fields_from_the_same_base_both_survive(store):
    rid = new_id()
    apply_ops(store, SECRETARY, [journal_op(rid, text="初稿")])
    first = apply_ops(store, SECRETARY, [journal_op(rid, base=1, places="水渠")])[0]
    second = apply_ops(store, AUTHORS_OTHER_PHONE, [journal_op(rid, base=1, reflection="要跟进")])[0]
    assert first["status"] == "applied"
    assert second["status"] == "merged" and "conflicts" not in second
    fields = store.load("journal", rid).fields
    assert (fields["places"], fields["reflection"], fields["text"]) == ("水渠", "要跟进", "初稿")


def test_overlapping_field_later_arrival_wins_and_loser_is_kept(store):
    rid = new_id()
    apply_ops(store, SECRETARY, [journal_op(rid, text="初稿")])
    apply_ops(store, SECRETARY, [journal_op(rid, base=1, text="书记的版本")])
    op = journal_op(rid, base=1, text="村委的版本")
    [result] = apply_ops(store, AUTHORS_OTHER_PHONE, [op])
    assert result["status"] == "merged"
    [conflict] = result["conflicts"]
    assert conflict | {"at": None} == {"field": "text", "kept": "村委的版本", "lost": "书记的版本", "lost_from": "server",
                                       "op": op["op"], "by": "", "at": None}
    assert store.load("journal", rid).fields["text"] == "村委的版本"
    assert store.oplog[op["op"]]["conflicts"][0]["lost"] == "书记的版本"


def test_same_value_on_both_sides_is_not_a_conflict(store):
    rid = new_id()
    apply_ops(store, SECRETARY, [journal_op(rid, text="初稿")])
    apply_ops(store, SECRETARY, [journal_op(rid, base=1, text="定稿")])
    [result] = apply_ops(store, AUTHORS_OTHER_PHONE, [journal_op(rid, base=1, text="定稿")])
    assert "conflicts" not in result and result["version"] == 2


def test_ordered_field_stale_edit_cannot_move_backwards():
    rtype = TYPES["problem"]
    current = Current(version=3, fields={"status": "verified"}, field_versions={"status": 3}, unit_id=VILLAGE)
    result = merge(rtype, current, base=1, changes={"status": "in_progress"}, op_id="stale")
    assert result.fields["status"] == "verified"
    assert [(c["kept"], c["lost"], c["lost_from"]) for c in result.conflicts] == [("verified", "in_progress", "stale")]
    forward = merge(rtype, Current(2, {"status": "open"}, {"status": 2}, VILLAGE), base=1,
                    changes={"status": "resolved"}, op_id="newer")
    assert forward.fields["status"] == "resolved"


def test_replayed_op_is_duplicate_and_changes_nothing(store):
    rid = new_id()
    op = journal_op(rid, text="一次")
    apply_ops(store, SECRETARY, [op])
    seq_before = store.seq
    [again] = apply_ops(store, SECRETARY, [op])
    assert again == {"op": op["op"], "status": "duplicate", "outcome": "applied", "version": 1}
    assert store.seq == seq_before and len(store.records) == 1


def test_replayed_rejected_op_stays_rejected(store):
    op = journal_op(new_id(), text="")
    [first] = apply_ops(store, SECRETARY, [op])
    [again] = apply_ops(store, SECRETARY, [op])
    assert first["status"] == "rejected"
    assert again["status"] == "duplicate" and again["outcome"] == "rejected"
    assert again["error"]["code"] == first["error"]["code"] == "required"


@pytest.mark.parametrize("op, actor, code", [
    ({"type": "harvest", "set": {"text": "x"}}, SECRETARY, "unknown_type"),
    ({"id": "not-a-uuid", "set": {"text": "x"}}, SECRETARY, "bad_id"),
    ({"set": {"text": "x", "mood": "good"}}, SECRETARY, "unknown_field"),
    ({"set": {"text": 42}}, SECRETARY, "invalid_value"),
    ({"set": {"text": "x", "visits": -1}}, SECRETARY, "out_of_range"),
    ({"set": {"text": "x", "visits": True}}, SECRETARY, "invalid_value"),
    ({"set": {"text": "x", "date": "2026-02-30"}}, SECRETARY, "invalid_value"),
    ({"set": {"text": "x" * 20001}}, SECRETARY, "too_long"),
    ({"set": {"places": "only places"}}, SECRETARY, "required"),
    ({"set": {"text": "   "}}, SECRETARY, "required"),
    ({"set": {"text": "x"}, "base": 3}, SECRETARY, "not_found"),
    ({"set": {"text": "x"}, "base": -1}, SECRETARY, "bad_base"),
    ({"set": {"text": "x"}, "base": 2**64}, SECRETARY, "bad_base"),
    ({"set": {"text": "x", "visits": 2**40}}, SECRETARY, "out_of_range"),
    ({"set": {"text": "x"}, "unit": "V2"}, SECRETARY, "out_of_scope"),
    ({"set": {"text": "x"}, "unit": "V9"}, SECRETARY, "unknown_unit"),
    ({"set": {"text": "x"}, "colour": "red"}, SECRETARY, "bad_op"),
    ({"set": {"text": "x"}, "at": "yesterday"}, SECRETARY, "bad_op"),
    ({"set": {"text": "x"}, "unit": "V1"}, STAFF, "forbidden"),
])
def test_bad_op_is_rejected_with_its_code_and_writes_nothing(store, op, actor, code):
    raw = {"op": new_id(), "type": "journal", "id": new_id(), "base": None} | op
    [result] = apply_ops(store, actor, [raw])
    assert result["status"] == "rejected"
    assert result["error"]["code"] == code
    assert store.records == {}


def test_edit_with_base_beyond_server_version_is_rejected(store):
    rid = new_id()
    apply_ops(store, SECRETARY, [journal_op(rid, text="x")])
    [result] = apply_ops(store, SECRETARY, [journal_op(rid, base=7, text="y")])
    assert result["error"]["code"] == "bad_base"
    assert store.load("journal", rid).fields["text"] == "x"


def test_missing_date_defaults_to_today_in_shanghai(store):
    rid = new_id()
    apply_ops(store, SECRETARY, [journal_op(rid, text="x")])
    assert store.load("journal", rid).fields["date"] == shanghai_today()


def test_pull_pages_in_sequence_and_respects_scope(store):
    other_secretary = Actor(9, "secretary", OTHER, frozenset({OTHER}))
    mine = [journal_op(new_id(), text=f"第{i}篇") for i in range(5)]
    apply_ops(store, SECRETARY, mine)
    apply_ops(store, other_secretary, [journal_op(new_id(), text="别村")])
    seen, cursor, more = [], 0, True
    while more:
        page = pull(store, SECRETARY, cursor, 2)
        seen += [change["fields"]["text"] for change in page["changes"]]
        cursor, more = page["cursor"], page["more"]
    assert seen == [f"第{i}篇" for i in range(5)]
    assert pull(store, SECRETARY, cursor, 2) == {"changes": [], "cursor": cursor, "more": False}
    assert len(pull(store, STAFF, 0, 100)["changes"]) == 6


@pytest.mark.parametrize("body, code", [
    ([], "bad_envelope"),
    ({"device": "phone"}, "bad_envelope"),
    ({"device": 7}, "bad_envelope"),
    ({"device": str(uuid.uuid4()), "cursor": -1}, "bad_envelope"),
    ({"device": str(uuid.uuid4()), "limit": 0}, "bad_envelope"),
    ({"device": str(uuid.uuid4()), "ops": {}}, "bad_envelope"),
    ({"device": str(uuid.uuid4()), "ops": ["x"]}, "bad_envelope"),
    ({"device": str(uuid.uuid4()), "ops": [{"type": "journal"}]}, "bad_envelope"),
    ({"device": str(uuid.uuid4()), "extra": 1}, "bad_envelope"),
    ({"device": str(uuid.uuid4()), "ops": [{"op": str(uuid.uuid4())}] * 3}, "too_many_ops"),
])
def test_malformed_envelope(body, code):
    with pytest.raises(EnvelopeError) as error:
        parse_envelope(body, max_ops=2)
    assert error.value.code == code


def test_the_documented_merge_table_is_the_one_in_the_code():
    from pathlib import Path

    from sync.table import markdown
    docs = (Path(__file__).resolve().parent.parent / "docs" / "sync-protocol.md").read_text(encoding="utf-8")
    assert markdown() in docs


def problem_op(record_id, base=None, **fields):
    return {"op": new_id(), "type": "problem", "id": record_id, "base": base, "set": fields}


def test_a_stale_base_cannot_skip_the_status_moves(store):
    request_id, problem_id = new_id(), new_id()
    apply_ops(store, SECRETARY, [{"op": new_id(), "type": "request", "id": request_id, "base": None,
                                  "set": {"content": "修路"}}])
    [jump] = apply_ops(store, SECRETARY, [{"op": new_id(), "type": "request", "id": request_id, "base": 0,
                                           "set": {"status": "closed"}}])
    assert jump["error"]["code"] == "illegal_transition"
    apply_ops(store, SECRETARY, [problem_op(problem_id, title="水渠")])
    [verify] = apply_ops(store, STAFF, [problem_op(problem_id, base=0, status="verified")])
    assert verify["error"]["code"] == "illegal_transition"
    assert store.load("problem", problem_id).fields["status"] == "open"


def test_a_resolved_problem_cannot_lose_its_resolution(store):
    pid = new_id()
    apply_ops(store, SECRETARY, [problem_op(pid, title="水渠", status="resolved", resolution="已修")])
    [cleared] = apply_ops(store, SECRETARY, [problem_op(pid, base=1, resolution="")])
    assert cleared["error"]["code"] == "required"


def test_only_its_author_may_change_a_comment():
    store = MemoryStore(units={"V1": VILLAGE})
    journal_id, comment_id = new_id(), new_id()
    apply_ops(store, SECRETARY, [journal_op(journal_id, text="走访")])
    comment = {"op": new_id(), "type": "review", "id": comment_id, "base": None,
               "set": {"target_type": "journal", "target_id": journal_id, "comment": "需整改", "decision": "follow_up"}}
    assert apply_ops(store, STAFF, [comment])[0]["status"] == "applied"
    [rewrite] = apply_ops(store, SECRETARY, [{"op": new_id(), "type": "review", "id": comment_id, "base": 1,
                                              "set": {"comment": "很好"}}])
    assert rewrite["error"]["code"] == "forbidden"
    assert store.load("review", comment_id).fields["comment"] == "需整改"


@pytest.mark.parametrize("raw, code", [
    ({"id": str(uuid.uuid4()).upper(), "set": {"text": "x"}}, "bad_id"),
    ({"type": ["journal"], "set": {"text": "x"}}, "unknown_type"),
    ({"type": {"a": 1}, "set": {"text": "x"}}, "unknown_type"),
    ({"set": {"text": "a\x00b"}}, "invalid_value"),
    ({"set": {"text": "x"}, "unit": "V\x001"}, "bad_op"),
])
def test_hostile_op_shapes_are_rejected_not_crashed(store, raw, code):
    [result] = apply_ops(store, SECRETARY, [{"op": new_id(), "type": "journal", "id": new_id(), "base": None} | raw])
    assert result["error"]["code"] == code


@pytest.mark.parametrize("kind, value, masked", [
    ("name", "张三丰", "张**"), ("name", "李", "*"), ("name", "欧阳娜娜", "欧**"),
    ("contact", "13812345678", "138****5678"), ("contact", "87654321", "******21"), ("contact", "wx_lisi88", "*******88"),
    ("contact", "110", "***"),
])
def test_masking_reveals_little(kind, value, masked):
    from sync.mask import mask_value
    assert mask_value(kind, value) == masked
