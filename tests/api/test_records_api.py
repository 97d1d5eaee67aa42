"""Problems, pavilion requests and tasks over the API, on SQLite and PostgreSQL: every status rule,
every permission, masking of residents' personal data, history and acknowledgement of conflicts."""
import uuid

import pytest
from sqlalchemy import update

from app import sync_service
from app.extensions import db
from app.models import OpLog, Problem, Task, User


def op(rtype, record_id=None, base=None, unit=None, ack=None, **fields):
    out = {"op": str(uuid.uuid4()), "type": rtype, "id": record_id or str(uuid.uuid4()), "base": base,
           "set": fields}
    if unit:
        out["unit"] = unit
    if ack is not None:
        out["ack"] = ack
    return out


def result(phone, *ops):
    response = phone.sync(list(ops))
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    return results[0] if len(results) == 1 else results


def code(outcome):
    return outcome.get("error", {}).get("code")


@pytest.fixture
def problem(phone):
    """A problem of V11 created by its secretary; returns (phone, id)."""
    sec1 = phone("sec1")
    created = op("problem", title="村东水渠渗漏", category="基础设施", urgent=True, owner="cadre1")
    assert result(sec1, created)["status"] == "applied"
    return sec1, created["id"]


def move(phone, record_id, base, **fields):
    return result(phone, op("problem", record_id, base=base, **fields))


def test_problem_moves_forward_and_needs_a_resolution(problem, phone):
    sec1, pid = problem
    assert move(sec1, pid, 1, status="in_progress")["version"] == 2
    assert code(move(sec1, pid, 2, status="resolved")) == "required"
    assert move(sec1, pid, 2, status="resolved", resolution="已修好")["version"] == 3
    staff1 = phone("staff1")
    assert move(staff1, pid, 3, status="verified")["status"] == "applied"


@pytest.mark.parametrize("who", ["sec1", "cadre1"])
def test_a_field_user_cannot_verify(problem, phone, who):
    sec1, pid = problem
    move(sec1, pid, 1, status="resolved", resolution="已修好")
    outcome = move(phone(who), pid, 2, status="verified")
    assert outcome["status"] == "rejected" and code(outcome) == "forbidden"


def test_illegal_moves_are_rejected(problem, phone):
    sec1, pid = problem
    assert code(move(phone("staff1"), pid, 1, status="verified")) == "illegal_transition"
    create_resolved = op("problem", title="x", status="verified")
    assert code(result(phone("staff1"), create_resolved | {"unit": "V11"})) == "illegal_transition"


def test_reopen_needs_a_reason(problem, phone):
    sec1, pid = problem
    move(sec1, pid, 1, status="resolved", resolution="已修好")
    assert code(move(sec1, pid, 2, status="open")) == "required"
    assert move(sec1, pid, 2, status="open", reopen_reason="又漏了")["version"] == 3


def test_a_stale_offline_edit_cannot_undo_verification(problem, phone):
    sec1, pid = problem
    cadre1 = phone("cadre1")
    move(sec1, pid, 1, status="resolved", resolution="已修好")
    move(phone("staff1"), pid, 2, status="verified")
    stale = move(cadre1, pid, 1, status="in_progress", detail="还在修")
    assert stale["status"] == "merged"
    assert [(c["field"], c["kept"], c["lost"]) for c in stale["conflicts"]] == [("status", "verified", "in_progress")]
    body = phone("staff1").sync().get_json()
    [change] = [c for c in body["changes"] if c["id"] == pid]
    assert change["fields"]["status"] == "verified" and change["fields"]["detail"] == "还在修"
    assert change["conflicts"][0]["lost"] == "in_progress" and change["conflicts"][0]["by"] == "cadre1"


def test_acknowledging_clears_the_conflict_mark(problem, phone, app):
    sec1, pid = problem
    cadre1 = phone("cadre1")
    move(sec1, pid, 1, detail="书记写的")
    merged = move(cadre1, pid, 1, detail="村委写的")
    assert merged["conflicts"][0]["lost"] == "书记写的"
    with app.app_context():
        assert db.session.get(Problem, pid).conflicts
    acked = result(sec1, op("problem", pid, base=merged["version"], ack=True))
    assert acked["status"] == "applied" and acked["version"] == merged["version"] + 1
    with app.app_context():
        row = db.session.get(Problem, pid)
        assert row.conflicts == [] and row.detail == "村委写的"


def test_owner_and_assignee_must_be_users_of_the_village(phone):
    sec1 = phone("sec1")
    assert code(result(sec1, op("problem", title="x", owner="sec2"))) == "invalid_value"
    assert code(result(sec1, op("task", title="x", assignee="nobody"))) == "invalid_value"
    assert result(sec1, op("task", title="x", assignee="cadre1"))["status"] == "applied"


def test_task_moves_and_completion_note(phone, app):
    staff1, sec1 = phone("staff1"), phone("sec1")
    dispatched = op("task", unit="V11", title="办理老年优待证", item_code="SX-042", due="2026-11-30", week="2026-W48")
    assert result(staff1, dispatched)["status"] == "applied"
    tid = dispatched["id"]
    # The township's approver lets it through the gate (gate.py); only then does it reach the village.
    assert result(phone("approver1"), op("task", tid, base=1, gate="approved"))["version"] == 2
    assert code(result(sec1, op("task", tid, base=2, status="done"))) == "required"
    assert code(result(staff1, op("task", tid, base=2, status="done", note="x"))) == "forbidden"
    assert result(sec1, op("task", tid, base=2, status="done", note="已送镇便民中心，12人"))["version"] == 3
    assert code(result(sec1, op("task", str(uuid.uuid4()), origin="township", title="x"))) == "forbidden"
    assert code(result(sec1, op("task", title="x", week="2026-W99"))) == "invalid_value"
    own = op("task", title="周一：走访五保户", week="2026-W48")
    result(sec1, own)
    with app.app_context():
        township_task, village_task = db.session.get(Task, tid), db.session.get(Task, own["id"])
        assert (township_task.origin, township_task.status, township_task.item_code) == ("township", "done", "SX-042")
        assert village_task.origin == "village"


def test_request_lifecycle_and_conversion_to_a_problem(phone, app):
    sec1 = phone("sec1")
    meeting = op("meeting", topic="垃圾池满溢怎么办", place="党群议事亭", attendance=14, date="2026-11-18")
    request = op("request", content="垃圾池满了没人清", resident_name="张三丰", resident_contact="13812345678",
                 meeting_id=meeting["id"])
    converted = op("problem", title="垃圾池满溢", source_type="request", source_id=request["id"])
    link = op("request", request["id"], base=1, status="accepted", problem_id=converted["id"],
              livelihood_project=True)
    results = result(sec1, meeting, request, converted, link)
    assert [r["status"] for r in results] == ["applied"] * 4
    assert code(result(sec1, op("request", request["id"], base=2, status="answered"))) == "required"
    answered = result(sec1, op("request", request["id"], base=2, status="answered", reply="志愿者轮流清理",
                               replied_on="2026-11-20"))
    assert answered["version"] == 3
    assert code(result(sec1, op("request", request["id"], base=3, status="recorded"))) == "illegal_transition"
    assert result(sec1, op("request", request["id"], base=3, status="closed"))["version"] == 4
    assert code(result(phone("staff1"), op("request", unit="V11", content="x"))) == "forbidden"


def test_personal_data_is_full_in_the_village_and_masked_everywhere_else(phone):
    sec1, cadre1 = phone("sec1"), phone("cadre1")
    request = op("request", content="想办低保", resident_name="李小红", resident_contact="13912345678")
    result(sec1, request)
    merged = result(cadre1, op("request", request["id"], base=1, resident_contact="13900000000"))
    result(sec1, op("request", request["id"], base=1, resident_contact="13911111111"))

    def seen(phone_):
        [change] = [c for c in phone_.sync().get_json()["changes"] if c["id"] == request["id"]]
        return change

    village = seen(phone("sec1"))
    assert village["fields"]["resident_name"] == "李小红"
    assert village["fields"]["resident_contact"] == "13911111111"
    for viewer in ("staff1", "approver1", "admin"):
        change = seen(phone(viewer))
        assert change["fields"]["resident_name"] == "李**"
        assert change["fields"]["resident_contact"] == "139****1111"
        assert {c["kept"] for c in change["conflicts"]} <= {"139****1111", "139****0000"}
        history = phone(viewer).client.get(f"/api/history/request/{request['id']}",
                                           headers={"Authorization": f"Bearer {phone(viewer).token}"}).get_json()
        text = str(history)
        assert "李小红" not in text and "13912345678" not in text and "13911111111" not in text
    assert merged["status"] == "applied"
    assert request["id"] not in str(phone("sec12").sync().get_json())  # another village sees nothing of it


def test_a_township_user_sees_nothing_of_another_townships_requests(phone):
    result(phone("sec2"), op("request", content="三村的诉求", resident_name="王五"))
    changes = phone("staff1").sync().get_json()["changes"]
    assert all(c["unit"] != "V21" for c in changes)
    assert not [c for c in changes if c["type"] == "request"]


def test_history_lists_who_changed_what_in_order_and_is_scoped(problem, phone):
    sec1, pid = problem
    cadre1 = phone("cadre1")
    move(cadre1, pid, 1, status="in_progress")
    move(sec1, pid, 2, detail="已联系镇水利站")
    response = sec1.client.get(f"/api/history/problem/{pid}", headers={"Authorization": f"Bearer {sec1.token}"})
    entries = response.get_json()["history"]
    assert [(e["user"], e["status"], e["changes"]) for e in entries] == [
        ("sec1", "applied", {"title": "村东水渠渗漏", "category": "基础设施", "urgent": True, "owner": "cadre1"}),
        ("cadre1", "applied", {"status": "in_progress"}),
        ("sec1", "applied", {"detail": "已联系镇水利站"}),
    ]
    assert entries[1]["device"] == "cadre1's phone"
    staff2 = phone("staff2")
    outside = staff2.client.get(f"/api/history/problem/{pid}", headers={"Authorization": f"Bearer {staff2.token}"})
    assert outside.status_code == 404 and outside.get_json()["error"]["code"] == "not_found"


def test_people_lists_my_village_and_the_staff_above_it_with_their_names(app, phone):
    with app.app_context():
        db.session.execute(update(User).where(User.username == "staff1").values(display_name="陈明"))
        db.session.commit()
    sec1 = phone("sec1")
    body = sec1.client.get("/api/people", headers={"Authorization": f"Bearer {sec1.token}"}).get_json()
    assert body == {"people": [
        {"username": "admin", "role": "admin", "name": "admin", "village": False},
        {"username": "approver1", "role": "township_approver", "name": "approver1", "village": False},
        {"username": "cadre1", "role": "cadre", "name": "cadre1", "village": True},
        {"username": "sec1", "role": "secretary", "name": "sec1", "village": True},
        {"username": "staff1", "role": "township_staff", "name": "陈明", "village": False},
    ]}, "the other township's staff (staff2) and other villages' people are not listed"


def test_a_township_form_writes_through_the_op_log(app, world):
    with app.app_context():
        staff = db.session.query(User).filter_by(username="staff1").one()
        [outcome] = sync_service.submit(staff, [op("task", unit="V12", title="秋季防火巡查", item_code="SX-108")])
        assert outcome["status"] == "applied"
        assert db.session.query(OpLog).filter_by(type="task", user_id=staff.id).count() == 1


def test_the_moment_a_problem_is_resolved_is_kept_and_cleared_on_reopen(problem, phone, app):
    sec1, pid = problem
    move(sec1, pid, 1, status="resolved", resolution="已修好")
    with app.app_context():
        resolved_at = db.session.get(Problem, pid).resolved_at
    move(phone("staff1"), pid, 2, status="verified")
    with app.app_context():
        assert resolved_at is not None and db.session.get(Problem, pid).resolved_at == resolved_at
    move(sec1, pid, 3, status="open", reopen_reason="又漏了")
    with app.app_context():
        assert db.session.get(Problem, pid).resolved_at is None


def review(target_type, target_id, comment, **fields):
    return op("review", target_type=target_type, target_id=target_id, comment=comment, **fields)


def test_a_township_comment_reaches_the_phone_and_the_secretary_answers(phone, app):
    sec1, staff1 = phone("sec1"), phone("staff1")
    journal = op("journal", text="走访5户")
    result(sec1, journal)
    sec1.sync()
    comment = review("journal", journal["id"], "请跟进水渠的事", decision="follow_up")
    assert result(staff1, comment)["status"] == "applied"
    [change] = [c for c in sec1.sync().get_json()["changes"] if c["type"] == "review"]
    assert change["fields"]["comment"] == "请跟进水渠的事" and change["author"] == "staff1"
    assert change["unit"] == "V11"
    reply = review("journal", journal["id"], "已联系水利站", reply_to=comment["id"])
    assert result(sec1, reply)["status"] == "applied"
    assert code(result(sec1, review("journal", journal["id"], "自己说可以", decision="ok"))) == "forbidden"
    body = staff1.client.get(f"/api/history/journal/{journal['id']}",
                             headers={"Authorization": f"Bearer {staff1.token}"}).get_json()
    assert [(r["author"], r["comment"], r["reply_to"]) for r in body["reviews"]] == [
        ("staff1", "请跟进水渠的事", None), ("sec1", "已联系水利站", comment["id"])]


def test_reviews_follow_the_scope_of_their_record(phone):
    sec2_journal = op("journal", text="三村")
    result(phone("sec2"), sec2_journal)
    # Another township's record answers as an unknown one: nothing tells a stranger which ids exist there.
    assert code(result(phone("staff1"), review("journal", sec2_journal["id"], "看看"))) == "not_found"
    assert code(result(phone("staff1"), review("journal", str(uuid.uuid4()), "无"))) == "not_found"
    first = review("journal", sec2_journal["id"], "好", decision="ok")
    assert result(phone("staff2"), first)["status"] == "applied"
    moved = op("review", first["id"], base=1, target_id=str(uuid.uuid4()))
    assert code(result(phone("staff2"), moved)) == "forbidden"


def test_history_says_which_op_acknowledged_and_changes_carry_the_milestone_time(problem, phone):
    sec1, pid = problem
    move(phone("cadre1"), pid, 1, detail="村委写的")
    merged = move(sec1, pid, 1, detail="书记写的")
    result(sec1, op("problem", pid, base=merged["version"], ack=True))
    history = sec1.client.get(f"/api/history/problem/{pid}",
                              headers={"Authorization": f"Bearer {sec1.token}"}).get_json()["history"]
    assert [entry["ack"] for entry in history] == [False, False, False, True]
    move(sec1, pid, merged["version"] + 1, status="resolved", resolution="已修好")
    [change] = [c for c in phone("staff1").sync().get_json()["changes"] if c["id"] == pid]
    assert change["reached_at"].endswith("Z")
