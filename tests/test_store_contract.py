"""One contract for every Store: the same ops give the same results, changes, history and threads in
memory, on SQLite and on PostgreSQL — so what the property tests prove in memory holds for the database."""
import datetime as dt
import re
import uuid

import pytest

from sync.types import shanghai_today
from tests.conftest import WORLD_ITEMS, WORLD_UNITS, WORLD_USERS
from tests.servers import STORES, opened_server

AT = "2026-11-20T09:30:00+08:00"
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z")
CHANGE_KEYS = {"type", "id", "version", "deleted", "unit", "author", "conflicts", "created_at", "updated_at", "fields"}
HISTORY_KEYS = {"op", "user", "device", "at", "received_at", "status", "changes", "conflicts", "ack", "error"}
REVIEW_KEYS = {"id", "author", "created_at", "target_type", "target_id", "comment", "decision", "reply_to"}


@pytest.fixture(scope="module", params=STORES)
def opened(request, tmp_path_factory):
    with opened_server(request.param, tmp_path_factory, WORLD_UNITS, WORLD_USERS, WORLD_ITEMS) as server:
        yield server


@pytest.fixture
def server(opened):
    opened.reset()
    return opened


def new_id():
    return str(uuid.uuid4())


def op(rtype, record_id, base=None, unit=None, ack=False, **changes):
    made = {"op": new_id(), "type": rtype, "id": record_id, "base": base, "set": changes, "at": AT}
    return made | ({"unit": unit} if unit else {}) | ({"ack": True} if ack else {})


def moment(stamp: str) -> dt.datetime:
    assert STAMP.fullmatch(stamp), stamp
    return dt.datetime.fromisoformat(stamp[:-1])


def only(changes, record_id):
    [change] = [c for c in changes if c["id"] == record_id]
    return change


def township_task(server, village="V11", author="staff1", **fields):
    task_id = new_id()
    [result] = server.apply(author, [op("task", task_id, unit=village, **({"title": "森林防火巡查"} | fields))])
    assert result["status"] == "applied", result
    return task_id


def decide(server, task_id, gate, approver="approver1", **fields):
    version = only(server.pull(approver)["changes"], task_id)["version"]
    [result] = server.apply(approver, [op("task", task_id, base=version, gate=gate, **fields)])
    assert result["status"] == "applied", result
    return result


def test_a_change_carries_its_author_village_and_server_times(server):
    rid = new_id()
    [created] = server.apply("sec1", [op("journal", rid, text="初稿")])
    assert created["status"] == "applied" and created["version"] == 1
    first = only(server.pull("sec1")["changes"], rid)
    [edited] = server.apply("sec1", [op("journal", rid, base=1, places="村东组")])  # from the author's other phone
    assert edited["status"] == "applied" and edited["version"] == 2

    second = only(server.pull("sec1")["changes"], rid)
    assert set(second) == CHANGE_KEYS  # a journal has no milestone, so no reached_at
    assert (second["type"], second["unit"], second["author"], second["deleted"]) == ("journal", "V11", "sec1", False)
    assert second["conflicts"] == []
    assert second["fields"] == {"date": shanghai_today(), "text": "初稿", "visits": None, "places": "村东组",
                                "reflection": None}
    assert second["created_at"] == first["created_at"]
    assert moment(second["updated_at"]) > moment(first["updated_at"]) >= moment(first["created_at"])
    pid = new_id()  # a problem is the village's: another cadre edits it, and its author stays who made it
    server.apply("sec1", [op("problem", pid, title="水渠渗漏")])
    server.apply("cadre1", [op("problem", pid, base=1, detail="东头三户")])
    assert only(server.pull("sec1")["changes"], pid)["author"] == "sec1"


def test_milestones_carry_when_they_were_reached_and_lose_it_when_left(server):
    pid = new_id()
    server.apply("sec1", [op("problem", pid, title="水渠渗漏")])
    opened = only(server.pull("sec1")["changes"], pid)
    assert set(opened) == CHANGE_KEYS | {"reached_at"} and opened["reached_at"] is None

    server.apply("sec1", [op("problem", pid, base=1, status="resolved", resolution="已修好")])
    resolved = only(server.pull("sec1")["changes"], pid)
    assert moment(resolved["reached_at"]) == moment(resolved["updated_at"])

    server.apply("staff1", [op("problem", pid, base=2, status="verified")])
    verified = only(server.pull("sec1")["changes"], pid)
    assert verified["reached_at"] == resolved["reached_at"]  # verified is still the milestone: the first moment stays

    server.apply("staff1", [op("problem", pid, base=3, status="open", reopen_reason="又漏了")])
    assert only(server.pull("sec1")["changes"], pid)["reached_at"] is None


def test_edits_of_different_fields_from_one_base_merge(server):
    rid = new_id()
    server.apply("sec1", [op("problem", rid, title="水渠渗漏")])
    [first] = server.apply("sec1", [op("problem", rid, base=1, detail="东头三户")])
    [second] = server.apply("cadre1", [op("problem", rid, base=1, category="水利")])
    assert first["status"] == "applied"
    assert second == {"op": second["op"], "status": "merged", "version": 3}
    change = only(server.pull("sec1")["changes"], rid)
    assert (change["fields"]["detail"], change["fields"]["category"], change["conflicts"]) == ("东头三户", "水利", [])


def test_a_conflict_is_kept_on_the_record_and_in_the_history_until_acknowledged(server):
    rid = new_id()
    server.apply("sec1", [op("problem", rid, title="初稿")])
    server.apply("sec1", [op("problem", rid, base=1, title="书记的版本")])
    late = op("problem", rid, base=1, title="村委的版本")
    [result] = server.apply("cadre1", [late])
    assert result["status"] == "merged"
    expected = {"field": "title", "kept": "村委的版本", "lost": "书记的版本", "lost_from": "server", "op": late["op"],
                "by": "cadre1", "at": AT}
    assert result["conflicts"] == [expected]

    change = only(server.pull("staff1")["changes"], rid)
    assert change["fields"]["title"] == "村委的版本" and change["conflicts"] == [expected]
    assert server.history("staff1", "problem", rid)[-1]["conflicts"] == [expected]

    [acked] = server.apply("sec1", [op("problem", rid, base=change["version"], ack=True)])
    assert acked["status"] == "applied"
    assert only(server.pull("staff1")["changes"], rid)["conflicts"] == []
    last = server.history("staff1", "problem", rid)[-1]
    assert (last["op"], last["ack"], last["changes"], last["conflicts"]) == (acked["op"], True, {}, [])


def test_a_replayed_request_is_duplicate_and_changes_nothing(server):
    request = [op("journal", new_id(), text="一次"), op("journal", new_id(), text="")]
    first = server.apply("sec1", request)
    seq = server.run(lambda store: store.current_seq())
    _, cursor = server.pull_all("sec1")
    again = server.apply("sec1", request)
    assert [r["status"] for r in first] == ["applied", "rejected"]
    assert again == [{"op": request[0]["op"], "status": "duplicate", "outcome": "applied", "version": 1},
                     {"op": request[1]["op"], "status": "duplicate", "outcome": "rejected",
                      "error": {"code": "required", "message": first[1]["error"]["message"]}}]
    assert server.run(lambda store: store.current_seq()) == seq
    assert server.pull("sec1", cursor) == {"changes": [], "cursor": cursor, "more": False}


def test_a_rejected_op_changes_nothing_and_is_not_history(server):
    rid = new_id()
    server.apply("sec1", [op("journal", rid, text="走访")])
    _, cursor = server.pull_all("sec1")
    [rejected] = server.apply("cadre1", [op("journal", rid, base=1, mood="good")])
    assert rejected["status"] == "rejected" and rejected["error"]["code"] == "unknown_field"
    assert server.pull("sec1", cursor)["changes"] == []
    assert [e["status"] for e in server.history("sec1", "journal", rid)] == ["applied"]
    [unknown] = server.apply("sec1", [op("journal", new_id(), text="")])
    assert unknown["error"]["code"] == "required"
    assert server.history("sec1", "journal", unknown["op"]) is None


def test_changes_after_a_cursor_come_in_pages_in_order_within_scope(server):
    mine = [op("journal", new_id(), text=f"第{i}篇") for i in range(5)]
    server.apply("sec1", mine)
    server.apply("sec2", [op("journal", new_id(), text="别镇的村")])
    pages, cursor, more = [], 0, True
    while more:
        page = server.pull("sec1", cursor, 2)
        assert page["cursor"] > cursor
        pages.append(([c["fields"]["text"] for c in page["changes"]], page["more"]))
        cursor, more = page["cursor"], page["more"]
    assert pages == [(["第0篇", "第1篇"], True), (["第2篇", "第3篇"], True), (["第4篇"], False)]
    assert cursor == server.run(lambda store: store.current_seq())
    assert server.pull("sec1", cursor, 2) == {"changes": [], "cursor": cursor, "more": False}
    assert len(server.pull("staff1")["changes"]) == 5   # 一镇: 一村 and 二村
    assert [c["unit"] for c in server.pull("staff2")["changes"]] == ["V21"]
    assert len(server.pull("admin")["changes"]) == 6


def test_a_village_sees_a_township_task_and_its_thread_only_once_approved(server):
    task_id = township_task(server, item_code="SX-042")
    comment = op("review", new_id(), target_type="task", target_id=task_id, comment="请尽快安排", decision="follow_up")
    assert server.apply("staff1", [comment])[0]["status"] == "applied"
    _, cursor = server.pull_all("sec1")

    assert [c["type"] for c in server.pull("sec1")["changes"]] == []
    township = server.pull("staff1")["changes"]
    assert [c["type"] for c in township] == ["task", "review"]
    assert township[0]["fields"]["gate"] == "pending" and "duplicate_of" in township[0]["fields"]
    assert server.history("sec1", "task", task_id) is None and server.thread("sec1", "task", task_id) is None
    [blind] = server.apply("sec1", [op("task", task_id, base=1, note="看不见")])
    assert blind["error"]["code"] == "not_found"

    decide(server, task_id, "approved")
    arrived = server.pull("sec1", cursor)["changes"]
    assert [(c["type"], c["id"]) for c in arrived] == [("task", task_id), ("review", comment["id"])]
    assert arrived[0]["fields"]["gate"] == "approved" and "duplicate_of" not in arrived[0]["fields"]
    assert [r["id"] for r in server.thread("sec1", "task", task_id)] == [comment["id"]]
    assert [e["user"] for e in server.history("sec1", "task", task_id)] == ["staff1", "approver1"]


def test_history_says_who_changed_what_from_which_device_oldest_first(server):
    rid = new_id()
    server.apply("sec1", [op("request", rid, content="修路", resident_name="张三丰", resident_contact="13812345678")])
    edits = [op("request", rid, base=1, category="道路"), op("request", rid, base=2, status="accepted")]
    server.apply("cadre1", edits)
    server.apply("cadre1", [op("request", rid, base=3, status="closed")])  # rejected: not from accepted

    entries = server.history("sec1", "request", rid)
    assert all(set(e) == HISTORY_KEYS for e in entries)
    assert [(e["user"], e["device"], e["status"], e["at"], e["ack"], e["error"]) for e in entries] == [
        ("sec1", "sec1's phone", "applied", AT, False, None),
        ("cadre1", "cadre1's phone", "applied", AT, False, None),
        ("cadre1", "cadre1's phone", "applied", AT, False, None)]
    assert [e["op"] for e in entries[1:]] == [o["op"] for o in edits]
    assert [e["changes"] for e in entries[1:]] == [{"category": "道路"}, {"status": "accepted"}]
    times = [moment(e["received_at"]) for e in entries]
    assert times == sorted(times) and len(set(times)) == 3

    assert entries[0]["changes"]["resident_name"] == "张三丰"
    masked = server.history("staff1", "request", rid)[0]["changes"]
    assert (masked["resident_name"], masked["resident_contact"]) == ("张**", "138****5678")
    assert server.history("sec2", "request", rid) is None
    assert server.history("sec1", "request", new_id()) is None


def test_a_thread_is_the_comments_on_one_record_in_the_order_they_were_made(server):
    journal_id, other_id = new_id(), new_id()
    server.apply("sec1", [op("journal", journal_id, text="走访"), op("journal", other_id, text="开会")])
    comment = op("review", new_id(), target_type="journal", target_id=journal_id, comment="请跟进", decision="follow_up")
    server.apply("staff1", [comment, op("review", new_id(), target_type="journal", target_id=other_id, comment="好")])
    reply = op("review", new_id(), target_type="journal", target_id=journal_id, comment="已安排", reply_to=comment["id"])
    server.apply("sec1", [reply])
    server.apply("staff1", [op("review", comment["id"], base=1, comment="请本周跟进")])  # edited after the reply

    thread = server.thread("sec1", "journal", journal_id)
    assert all(set(r) == REVIEW_KEYS for r in thread)
    assert [(r["id"], r["author"], r["comment"], r["decision"], r["reply_to"]) for r in thread] == [
        (comment["id"], "staff1", "请本周跟进", "follow_up", None),
        (reply["id"], "sec1", "已安排", None, comment["id"])]
    assert moment(thread[0]["created_at"]) < moment(thread[1]["created_at"])
    assert server.thread("staff1", "journal", journal_id) == thread
    assert server.thread("sec2", "journal", journal_id) is None
    assert server.run(lambda store: store.reviews_of("journal", journal_id, server.unit_ids["V12"])) == []


def test_work_items_are_the_countys_list(server):
    village = server.unit_ids["V11"]
    item = server.run(lambda store: store.work_item(village, "SX-042"))
    assert item == {k: WORLD_ITEMS[0][k] for k in ("code", "name", "basis", "department", "effort_hours", "status")}
    assert server.run(lambda store: store.work_item(village, "SX-201"))["status"] == "cancelled"
    assert server.run(lambda store: store.work_item(village, "SX-999")) is None
    [cancelled] = server.apply("staff1", [op("task", new_id(), unit="V11", title="报送台账", item_code="SX-201")])
    assert cancelled["error"]["code"] == "item_cancelled"


def test_a_duplicate_is_an_earlier_live_township_task_of_the_village(server):
    first = township_task(server, item_code="SX-101")
    second = township_task(server, item_code="SX-101")
    elsewhere = township_task(server, village="V12", item_code="SX-101")
    worded = township_task(server, title="防火 巡查！", offlist_reason="县里临时部署的防火检查")
    reworded = township_task(server, title="防火巡查", offlist_reason="县里临时部署的防火检查")
    township = server.pull("staff1")["changes"]
    assert [only(township, t)["fields"]["duplicate_of"] for t in (first, second, elsewhere, worded, reworded)] == [
        None, first, None, None, worded]

    village = server.unit_ids["V11"]
    # Only tasks sent before it: the later one does not make the first a duplicate.
    assert server.run(lambda store: store.duplicate_task(village, first, "SX-101", "", 30)) is None
    assert server.run(lambda store: store.duplicate_task(village, second, "SX-101", "", 30)) == first
    decide(server, first, "rejected", gate_reason="与上级部署重复，不再下派")
    assert server.run(lambda store: store.duplicate_task(village, new_id(), "SX-101", "", 30)) == second


def test_a_done_task_is_a_duplicate_only_within_the_window(server):
    done = township_task(server, item_code="SX-108")
    decide(server, done, "approved")
    version = only(server.pull("sec1")["changes"], done)["version"]
    assert server.apply("sec1", [op("task", done, base=version, status="done", note="已巡查")])[0]["status"] == "applied"
    village = server.unit_ids["V11"]

    def duplicate():
        return server.run(lambda store: store.duplicate_task(village, new_id(), "SX-108", "", 30))

    assert duplicate() == done
    server.backdate("task", done, days=31)
    assert duplicate() is None
    later = township_task(server, item_code="SX-108")
    assert only(server.pull("staff1")["changes"], later)["fields"]["duplicate_of"] is None


def test_users_and_units_are_those_of_the_village(server):
    v11, v12 = server.unit_ids["V11"], server.unit_ids["V12"]
    assert server.run(lambda store: [store.user_in_unit("sec1", v11), store.user_in_unit("cadre1", v11),
                                     store.user_in_unit("sec1", v12), store.user_in_unit("nobody", v11)]) == [
        True, True, False, False]
    assert server.run(lambda store: [store.unit_id_for_code(code) for code in ("V11", "V12", "T1", "X9")]) == [
        v11, v12, None, None]
    pid = new_id()
    [stranger] = server.apply("staff1", [op("problem", pid, unit="V11", title="路灯坏了", owner="sec12")])
    [township] = server.apply("staff1", [op("problem", new_id(), unit="T1", title="路灯坏了")])
    [owned] = server.apply("staff1", [op("problem", pid, unit="V11", title="路灯坏了", owner="cadre1")])
    assert (stranger["error"]["code"], township["error"]["code"], owned["status"]) == (
        "invalid_value", "unknown_unit", "applied")
    assert only(server.pull("sec1")["changes"], pid)["fields"]["owner"] == "cadre1"
