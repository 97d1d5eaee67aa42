"""The dispatch gate (派单过筛) over the sync API, on SQLite and PostgreSQL: what a township task must carry,
who lets it through, and that a village sees nothing of a task until it was approved.

Every refused op is also checked to have changed nothing: the task's row stays exactly as it was."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select, update

from app.cli import add_user
from app.extensions import db
from app.models import OpLog, Review, Task, utcnow
from sync.types import shanghai_today
from tests.conftest import PASSWORD

REASON = "县里临时部署的秋季防火专项检查"   # an off-list reason of more than ten characters


# ---------------------------------------------------------------- helpers

def op(rtype, record_id=None, base=None, unit=None, **fields):
    out = {"op": str(uuid.uuid4()), "type": rtype, "id": record_id or str(uuid.uuid4()), "base": base,
           "set": fields}
    return out | ({"unit": unit} if unit else {})


def task(unit="V11", title="办理老年优待证", **fields):
    return op("task", unit=unit, title=title, **fields)


def result(phone, *ops):
    response = phone.sync(list(ops))
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    return results[0] if len(results) == 1 else results


def code(outcome):
    assert outcome["status"] == "rejected", outcome
    return outcome["error"]["code"]


def send(phone, **fields):
    """A township task created by `phone`; returns its id (it must be applied)."""
    new = task(**fields)
    outcome = result(phone, new)
    assert outcome["status"] == "applied", outcome
    return new["id"]


def state(app, task_id):
    """Every column of the task's row (None when there is no such row)."""
    with app.app_context():
        row = db.session.get(Task, task_id)
        return None if row is None else {c.name: getattr(row, c.name) for c in Task.__table__.columns}


def decide(phone, app, task_id, gate, base=None, **fields):
    base = state(app, task_id)["version"] if base is None else base
    return result(phone, op("task", task_id, base=base, gate=gate, **fields))


def approve(phone, app, task_id, **fields):
    outcome = decide(phone, app, task_id, "approved", **fields)
    assert outcome["status"] == "applied", outcome
    return outcome


def refused(phone, app, task_id, the_op, expected):
    """The op is rejected with `expected` and the task is exactly as it was."""
    before = state(app, task_id)
    outcome = result(phone, the_op)
    assert code(outcome) == expected, outcome
    assert state(app, task_id) == before
    return outcome


def task_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Task))


def pulled(phone, fresh=False):
    """{id: change} of what the phone's pull returns (from its own cursor, or from the start)."""
    if fresh:
        phone.cursor = None
    body = phone.sync().get_json()
    return {c["id"]: c for c in body["changes"]}


def history(phone, rtype, record_id):
    return phone.client.get(f"/api/history/{rtype}/{record_id}", headers={"Authorization": f"Bearer {phone.token}"})


@pytest.fixture
def approver1b(app, world):
    """A second approver of T1, for the off-list tasks approver1 wrote himself."""
    with app.app_context():
        add_user("approver1b", "township_approver", "T1", PASSWORD)
        db.session.commit()


# ---------------------------------------------------------------- what a township task must carry

def test_an_on_list_task_gets_the_items_fields_and_reaches_the_village_only_when_approved(phone, app):
    staff1, approver1, sec1, cadre1 = phone("staff1"), phone("approver1"), phone("sec1"), phone("cadre1")
    sec1.sync(), cadre1.sync()
    tid = send(staff1, item_code="SX-042", due="2026-11-30")
    row = state(app, tid)
    assert (row["origin"], row["gate"], row["status"], row["version"]) == ("township", "pending", "received", 1)
    assert (row["item_name"], row["item_basis"], row["support_department"]) == (
        "办理老年优待证", "《老年人权益保障法》第五十七条", "县民政局")
    assert row["sent_on"] is None and row["duplicate_of"] is None and row["gate_reason"] is None
    # The township sees its pending task; the village sees nothing of it.
    assert pulled(staff1, fresh=True)[tid]["fields"]["gate"] == "pending"
    for village in (sec1, cadre1):
        assert tid not in pulled(village) and tid not in pulled(village, fresh=True)
        assert history(village, "task", tid).status_code == 404

    approve(approver1, app, tid)
    row = state(app, tid)
    assert (row["gate"], row["version"], row["sent_on"]) == ("approved", 2, dt.date.fromisoformat(shanghai_today()))
    for village in (sec1, cadre1):
        change = pulled(village)[tid]      # the next pull brings it, from the cursor the phone already had
        assert change["fields"]["sent_on"] == shanghai_today() and change["fields"]["gate"] == "approved"
        assert change["fields"]["item_name"] == "办理老年优待证" and change["fields"]["support_department"] == "县民政局"
        assert history(village, "task", tid).status_code == 200
    assert pulled(approver1, fresh=True)[tid]["fields"]["gate"] == "approved"


def test_the_support_department_may_be_named_and_server_fields_may_not_be_sent(phone, app):
    staff1 = phone("staff1")
    tid = send(staff1, item_code="SX-101", support_department="镇农业服务中心")
    assert state(app, tid)["support_department"] == "镇农业服务中心"
    assert state(app, tid)["item_name"] == "农村人居环境整治"
    for name, value in [("item_name", "自己起的名"), ("item_basis", "自己写的依据"), ("sent_on", "2026-11-01"),
                        ("duplicate_of", str(uuid.uuid4())), ("gate_reason", "我自己批准")]:
        outcome = result(staff1, task(item_code="SX-108", **{name: value}))
        assert code(outcome) == "forbidden" and outcome["error"]["field"] == name
    assert task_count(app) == 1


@pytest.mark.parametrize("reason", [None, "", "太短了", "九个字的理由不够长", "          "])
def test_an_off_list_task_needs_a_reason_of_ten_characters(phone, app, reason):
    fields = {} if reason is None else {"offlist_reason": reason}
    outcome = result(phone("staff1"), task(title="秋季防火巡查", **fields))
    assert code(outcome) == "item_required" and outcome["error"]["field"] == "item_code"
    assert task_count(app) == 0


def test_an_off_list_task_with_a_reason_waits_for_the_approver(phone, app):
    tid = send(phone("staff1"), title="秋季防火巡查", offlist_reason=REASON)
    row = state(app, tid)
    assert (row["gate"], row["item_code"], row["offlist_reason"]) == ("pending", None, REASON)
    assert row["item_name"] is None and row["item_basis"] is None and row["sent_on"] is None
    ten = send(phone("staff1"), title="另一件事", offlist_reason="十个字的理由刚好够长")
    assert state(app, ten)["gate"] == "pending"


@pytest.mark.parametrize("item_code, error", [("SX-999", "unknown_item"), ("SX-201", "item_cancelled"),
                                              ("SX-190", "item_retired")])
def test_an_item_must_be_active_on_the_countys_list(phone, app, item_code, error):
    staff1 = phone("staff1")
    outcome = result(staff1, task(item_code=item_code, offlist_reason=REASON))
    assert code(outcome) == error and outcome["error"]["field"] == "item_code"
    assert task_count(app) == 0
    # Moving an existing task onto such an item is refused the same way.
    tid = send(staff1, item_code="SX-042")
    refused(staff1, app, tid, op("task", tid, base=1, item_code=item_code), error)


def test_an_item_of_another_countys_list_is_unknown(phone, app):
    from app.cli import add_unit
    from app.models import Unit
    from app.worklist import service as worklist
    with app.app_context():
        add_unit("C2", "邻县", "county", None)
        county = db.session.scalar(select(Unit).where(Unit.code == "C2"))
        worklist.apply(county, worklist.plan(county, [{"code": "LX-001", "name": "邻县事项", "basis": "",
                                                       "department": "", "effort_hours": None,
                                                       "status": "active"}]), None, "test")
        db.session.commit()
    assert code(result(phone("staff1"), task(item_code="LX-001"))) == "unknown_item"
    assert task_count(app) == 0


# ---------------------------------------------------------------- duplicates

def test_the_same_item_in_the_same_village_is_marked_a_duplicate(phone, app):
    staff1 = phone("staff1")
    first = send(staff1, item_code="SX-101", title="人居环境整治")
    second = send(staff1, item_code="SX-101", title="换个说法的人居环境整治")
    elsewhere = send(staff1, unit="V12", item_code="SX-101", title="人居环境整治")
    other_item = send(staff1, item_code="SX-108", title="人居环境整治")
    assert state(app, first)["duplicate_of"] is None
    assert state(app, second)["duplicate_of"] == first
    assert state(app, elsewhere)["duplicate_of"] is None
    assert state(app, other_item)["duplicate_of"] is None
    third = send(staff1, item_code="SX-101", title="第三次")
    assert state(app, third)["duplicate_of"] == first          # the earliest it repeats


def test_an_off_list_task_with_the_same_title_ignoring_spaces_and_punctuation_is_a_duplicate(phone, app):
    staff1 = phone("staff1")
    first = send(staff1, title="秋季防火巡查", offlist_reason=REASON)
    again = send(staff1, title=" 秋季 防火·巡查！", offlist_reason=REASON + "（再次）")
    other = send(staff1, title="秋季防火宣传", offlist_reason=REASON)
    on_list = send(staff1, title="秋季防火巡查", item_code="SX-108")   # an on-list task is matched by its item
    assert state(app, again)["duplicate_of"] == first
    assert state(app, other)["duplicate_of"] is None
    assert state(app, on_list)["duplicate_of"] is None


def test_a_task_done_long_ago_is_not_a_duplicate_but_one_done_lately_is(phone, app):
    staff1, sec1 = phone("staff1"), phone("sec1")
    old = send(staff1, item_code="SX-108", title="森林防火巡查")
    recent = send(staff1, unit="V12", item_code="SX-108", title="森林防火巡查")
    for tid, village in ((old, sec1), (recent, phone("sec12"))):
        approve(phone("approver1"), app, tid)
        assert result(village, op("task", tid, base=2, status="done", note="已巡查"))["status"] == "applied"
    with app.app_context():
        db.session.execute(update(Task).where(Task.id == old).values(done_at=utcnow() - dt.timedelta(days=40)))
        db.session.execute(update(Task).where(Task.id == recent).values(done_at=utcnow() - dt.timedelta(days=10)))
        db.session.commit()
    assert state(app, send(staff1, item_code="SX-108", title="森林防火巡查"))["duplicate_of"] is None
    assert state(app, send(staff1, unit="V12", item_code="SX-108", title="森林防火巡查"))["duplicate_of"] == recent


def test_a_rejected_or_withdrawn_task_is_not_a_duplicate(phone, app):
    staff1, approver1 = phone("staff1"), phone("approver1")
    rejected = send(staff1, item_code="SX-042")
    assert decide(approver1, app, rejected, "rejected", gate_reason="本月已由民政办统一办理")["status"] == "applied"
    assert state(app, send(staff1, item_code="SX-042"))["duplicate_of"] is None
    withdrawn = send(staff1, unit="V12", item_code="SX-042")
    assert decide(staff1, app, withdrawn, "withdrawn")["status"] == "applied"
    assert state(app, send(staff1, unit="V12", item_code="SX-042"))["duplicate_of"] is None


def test_an_edit_before_approval_marks_the_duplicate_it_now_is(phone, app):
    staff1, approver1 = phone("staff1"), phone("approver1")
    first = send(staff1, item_code="SX-101")
    later = send(staff1, item_code="SX-042")
    assert state(app, later)["duplicate_of"] is None
    result(staff1, op("task", later, base=1, item_code="SX-101"))
    assert state(app, later)["duplicate_of"] == first
    refused(approver1, app, later, op("task", later, base=2, gate="approved"), "required")
    result(staff1, op("task", later, base=2, item_code="SX-108"))
    assert state(app, later)["duplicate_of"] is None
    offlist = send(staff1, title="秋季防火巡查", offlist_reason=REASON)
    renamed = send(staff1, title="冬季防火巡查", offlist_reason=REASON)
    result(staff1, op("task", renamed, base=1, title="秋季防火巡查。"))
    assert state(app, renamed)["duplicate_of"] == offlist


def test_approving_a_duplicate_needs_a_reason(phone, app):
    staff1, approver1 = phone("staff1"), phone("approver1")
    first = send(staff1, item_code="SX-101")
    dup = send(staff1, item_code="SX-101", title="再派一次")
    refused(approver1, app, dup, op("task", dup, base=1, gate="approved"), "required")
    refused(approver1, app, dup, op("task", dup, base=1, gate="approved", gate_reason=""), "required")
    assert result(approver1, op("task", dup, base=1, gate="approved", gate_reason="上次的已过期，需重新摸排"))[
        "status"] == "applied"
    row = state(app, dup)
    assert (row["gate"], row["gate_reason"], row["duplicate_of"]) == ("approved", "上次的已过期，需重新摸排", first)
    assert row["sent_on"] is not None


def test_an_approvers_own_duplicate_waits(phone, app):
    approver1 = phone("approver1")
    first = send(approver1, item_code="SX-108")
    dup = send(approver1, item_code="SX-108", title="再派一次")
    assert state(app, first)["gate"] == "approved"
    assert (state(app, dup)["gate"], state(app, dup)["duplicate_of"]) == ("pending", first)


# ---------------------------------------------------------------- who decides

def test_only_an_approver_of_the_township_approves(phone, app):
    tid = send(phone("staff1"), item_code="SX-042")
    refused(phone("staff1"), app, tid, op("task", tid, base=1, gate="approved"), "forbidden")
    refused(phone("staff2"), app, tid, op("task", tid, base=1, gate="approved"), "not_found")  # as an unknown id
    refused(phone("sec1"), app, tid, op("task", tid, base=1, gate="approved"), "not_found")
    refused(phone("admin"), app, tid, op("task", tid, base=1, gate="approved"), "forbidden")
    assert state(app, tid)["gate"] == "pending"
    approve(phone("approver1"), app, tid)
    assert state(app, tid)["gate"] == "approved"


def test_a_new_task_cannot_approve_itself(phone, app):
    for who in ("staff1", "approver1"):
        outcome = result(phone(who), task(title="自己放行", offlist_reason=REASON, gate="approved"))
        assert code(outcome) == "forbidden"
    assert task_count(app) == 0


def test_an_approvers_own_off_list_task_needs_another_approver(phone, app, approver1b):
    approver1 = phone("approver1")
    tid = send(approver1, title="秋季防火巡查", offlist_reason=REASON)
    assert state(app, tid)["gate"] == "pending"
    refused(approver1, app, tid, op("task", tid, base=1, gate="approved"), "forbidden")
    approve(phone("approver1b"), app, tid)
    assert state(app, tid)["gate"] == "approved"


def test_an_approvers_own_clean_on_list_task_is_approved_at_once(phone, app):
    sec1 = phone("sec1")
    sec1.sync()
    tid = send(phone("approver1"), item_code="SX-042")
    row = state(app, tid)
    assert (row["gate"], row["version"], row["sent_on"]) == ("approved", 1, dt.date.fromisoformat(shanghai_today()))
    assert pulled(sec1)[tid]["fields"]["gate"] == "approved"


@pytest.mark.parametrize("decision", ["rejected", "returned"])
def test_reject_and_return_need_a_reason(phone, app, decision):
    approver1 = phone("approver1")
    tid = send(phone("staff1"), item_code="SX-042")
    refused(approver1, app, tid, op("task", tid, base=1, gate=decision), "required")
    refused(approver1, app, tid, op("task", tid, base=1, gate=decision, gate_reason=""), "required")
    assert decide(approver1, app, tid, decision, gate_reason="请写清楚办理对象和时限")["version"] == 2
    row = state(app, tid)
    assert (row["gate"], row["gate_reason"], row["sent_on"]) == (decision, "请写清楚办理对象和时限", None)


def test_a_rejected_task_stays_rejected(phone, app):
    approver1 = phone("approver1")
    tid = send(phone("staff1"), item_code="SX-042")
    decide(approver1, app, tid, "rejected", gate_reason="不属于村里的事")
    for target in ("approved", "pending", "returned", "withdrawn"):
        refused(approver1, app, tid, op("task", tid, base=2, gate=target, gate_reason="再看看吧再看看"),
                "illegal_transition")


def test_a_stale_decision_is_refused_and_changes_nothing(phone, app):
    staff1, approver1 = phone("staff1"), phone("approver1")
    tid = send(staff1, item_code="SX-042")
    result(staff1, op("task", tid, base=1, detail="摸排80岁以上老人"))   # the approver still shows version 1
    for decision in ("approved", "rejected", "returned"):
        outcome = refused(approver1, app, tid, op("task", tid, base=1, gate=decision, gate_reason="看过了看过了"),
                          "stale")
        assert outcome["error"]["field"] == "base"
    refused(approver1, app, tid, op("task", tid, base=None, gate="approved"), "stale")
    assert state(app, tid)["gate"] == "pending"
    assert approve(approver1, app, tid)["version"] == 3


def test_a_returned_task_goes_back_to_pending_when_its_author_revises_it(phone, app):
    staff1, approver1, sec1 = phone("staff1"), phone("approver1"), phone("sec1")
    tid = send(staff1, title="摸排", item_code="SX-042")
    decide(approver1, app, tid, "returned", gate_reason="请写清楚摸排对象")
    assert state(app, tid)["gate"] == "returned"
    refused(approver1, app, tid, op("task", tid, base=2, gate="approved"), "illegal_transition")
    assert tid not in pulled(sec1, fresh=True)
    # A no-op "edit" (the same title) is no revision.
    result(staff1, op("task", tid, base=2, title="摸排"))
    assert state(app, tid)["gate"] == "returned"
    outcome = result(staff1, op("task", tid, base=2, title="摸排80岁以上老人", detail="名单报镇民政办"))
    assert outcome["status"] == "applied"
    row = state(app, tid)
    assert (row["gate"], row["title"], row["duplicate_of"], row["sent_on"]) == ("pending", "摸排80岁以上老人", None, None)
    approve(approver1, app, tid)
    assert tid in pulled(sec1)


def test_a_revision_onto_another_item_takes_that_items_fields(phone, app):
    staff1, approver1 = phone("staff1"), phone("approver1")
    tid = send(staff1, title="巡查", item_code="SX-042")
    decide(approver1, app, tid, "returned", gate_reason="事项选错了，应该是防火巡查")
    result(staff1, op("task", tid, base=2, item_code="SX-108"))
    row = state(app, tid)
    assert (row["gate"], row["item_code"], row["item_name"], row["support_department"]) == (
        "pending", "SX-108", "森林防火巡查", "县林业局")   # the department follows the item it came from
    # A department the author named stays when the item changes.
    named = send(staff1, title="巡查", item_code="SX-042", support_department="镇综治办")
    decide(approver1, app, named, "returned", gate_reason="事项选错了，应该是防火巡查")
    result(staff1, op("task", named, base=2, item_code="SX-108"))
    assert state(app, named)["support_department"] == "镇综治办"


def test_withdrawing(phone, app):
    staff1, approver1, sec1 = phone("staff1"), phone("approver1"), phone("sec1")
    # The author withdraws a pending task.
    pending = send(staff1, item_code="SX-042")
    assert decide(staff1, app, pending, "withdrawn")["status"] == "applied"
    assert state(app, pending)["gate"] == "withdrawn"
    refused(approver1, app, pending, op("task", pending, base=2, gate="approved"), "illegal_transition")
    # Staff who did not write it may not; the author (an approver here) and approvers may.
    theirs = send(approver1, title="秋季防火巡查", offlist_reason=REASON)
    refused(staff1, app, theirs, op("task", theirs, base=1, gate="withdrawn"), "forbidden")
    assert decide(approver1, app, theirs, "withdrawn")["status"] == "applied"
    # Once the village has done it, it cannot be withdrawn.
    done = send(staff1, item_code="SX-101")
    approve(approver1, app, done)
    result(sec1, op("task", done, base=2, status="done", note="已整治"))
    refused(staff1, app, done, op("task", done, base=3, gate="withdrawn"), "illegal_transition")
    refused(approver1, app, done, op("task", done, base=3, gate="withdrawn"), "illegal_transition")
    assert state(app, done)["gate"] == "approved"


def test_the_village_sees_a_withdrawn_task_and_cannot_edit_it(phone, app):
    staff1, sec1, cadre1 = phone("staff1"), phone("sec1"), phone("cadre1")
    tid = send(staff1, item_code="SX-101")
    approve(phone("approver1"), app, tid)
    result(sec1, op("task", tid, base=2, status="in_progress"))
    assert decide(staff1, app, tid, "withdrawn")["status"] == "applied"
    assert pulled(sec1)[tid]["fields"]["gate"] == "withdrawn"
    for who, fields in ((sec1, {"status": "done", "note": "做完了"}), (cadre1, {"note": "还在做"}),
                        (cadre1, {"flag": "burden", "flag_note": "已撤回还要做吗"})):
        outcome = refused(who, app, tid, op("task", tid, base=4, **fields), "withdrawn")
        assert outcome["error"]["field"] == "gate"


# ---------------------------------------------------------------- what the village sees

@pytest.fixture
def unseen(phone, app):
    """Township tasks of V11 that never reached it: pending, returned, rejected, withdrawn while pending."""
    staff1, approver1 = phone("staff1"), phone("approver1")
    ids = {"pending": send(staff1, item_code="SX-042"),
           "offlist": send(approver1, title="秋季防火巡查", offlist_reason=REASON),
           "returned": send(staff1, item_code="SX-101"),
           "rejected": send(staff1, item_code="SX-108"),
           "withdrawn": send(staff1, title="另一件事", offlist_reason=REASON)}
    decide(approver1, app, ids["returned"], "returned", gate_reason="请写清楚整治范围")
    decide(approver1, app, ids["rejected"], "rejected", gate_reason="不属于村里的事")
    decide(staff1, app, ids["withdrawn"], "withdrawn")
    return ids


def test_the_village_pulls_nothing_of_unapproved_tasks(phone, app, unseen):
    own = op("task", title="村里自己的计划")
    result(phone("sec1"), own)
    for who in ("sec1", "cadre1"):
        seen = pulled(phone(who), fresh=True)
        assert not set(unseen.values()) & set(seen), who
        assert own["id"] in seen
    township = pulled(phone("staff1"), fresh=True)
    assert set(unseen.values()) <= set(township)
    assert {township[i]["fields"]["gate"] for i in unseen.values()} == {"pending", "returned", "rejected",
                                                                        "withdrawn"}


def test_an_unapproved_task_answers_the_village_as_an_unknown_id_does(phone, app, unseen):
    unknown = str(uuid.uuid4())
    for who in ("sec1", "cadre1"):
        village = phone(who)
        expected_history = history(village, "task", unknown)
        assert expected_history.status_code == 404
        expected_edit = result(village, op("task", unknown, base=1, status="in_progress"))["error"]
        expected_comment = result(village, op("review", target_type="task", target_id=unknown, comment="收到"))
        expected_comment = expected_comment["error"]
        for name, tid in unseen.items():
            answer = history(village, "task", tid)
            assert (answer.status_code, answer.get_json()) == (404, expected_history.get_json()), name
            before = state(app, tid)
            outcome = result(village, op("task", tid, base=1, status="in_progress"))
            assert outcome["status"] == "rejected" and outcome["error"] == expected_edit, (name, outcome)
            for fields in ({"note": "看看"}, {"flag": "unclear", "flag_note": "看不懂"}, {"status": "done", "note": "好"}):
                assert result(village, op("task", tid, base=before["version"], **fields))["error"]["code"] == \
                    "not_found"
            comment = result(village, op("review", target_type="task", target_id=tid, comment="收到"))
            assert comment["error"] == expected_comment | {"message": expected_comment["message"].replace(
                unknown, tid)}, (name, comment)
            assert state(app, tid) == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Review)) == 0


def test_comments_on_a_pending_task_stay_with_the_township_until_it_is_approved(phone, app):
    staff1, approver1, sec1 = phone("staff1"), phone("approver1"), phone("sec1")
    sec1.sync()
    tid = send(staff1, item_code="SX-042")
    comment = op("review", target_type="task", target_id=tid, comment="依据写清楚了，可以派")
    assert result(approver1, comment)["status"] == "applied"
    journal = op("journal", text="走访5户")
    result(sec1, journal)
    on_journal = op("review", target_type="journal", target_id=journal["id"], comment="好")
    result(staff1, on_journal)
    seen = pulled(sec1)
    assert comment["id"] not in seen and tid not in seen and on_journal["id"] in seen
    assert comment["id"] not in pulled(sec1, fresh=True)
    assert comment["id"] in pulled(staff1, fresh=True)
    # Once approved, the task reaches the village with its thread, on the phone that had pulled meanwhile
    # as on a new one.
    approve(approver1, app, tid)
    incremental, fresh = pulled(sec1), pulled(phone("sec1"), fresh=True)
    assert tid in incremental and tid in fresh
    assert comment["id"] in fresh
    assert comment["id"] in incremental
    body = history(sec1, "task", tid).get_json()
    assert [r["comment"] for r in body["reviews"]] == ["依据写清楚了，可以派"]


# ---------------------------------------------------------------- the village's flags

def test_the_village_flags_a_task_and_the_township_sees_it(phone, app):
    staff1, sec1, cadre1 = phone("staff1"), phone("sec1"), phone("cadre1")
    tid = send(staff1, item_code="SX-101")
    approve(phone("approver1"), app, tid)
    outcome = result(cadre1, op("task", tid, base=2, flag="burden", flag_note="要求每天拍照上传三次"))
    assert outcome["status"] == "applied"
    assert result(sec1, op("task", tid, base=3, flag="duplicate", flag_note="和上周的整治任务重复"))["version"] == 4
    row = state(app, tid)
    assert (row["flag"], row["flag_note"]) == ("duplicate", "和上周的整治任务重复")
    change = pulled(staff1, fresh=True)[tid]
    assert change["fields"]["flag"] == "duplicate" and change["fields"]["flag_note"] == "和上周的整治任务重复"
    for who in ("staff1", "approver1"):
        refused(phone(who), app, tid, op("task", tid, base=4, flag="unclear"), "forbidden")
        refused(phone(who), app, tid, op("task", tid, base=4, flag_note="镇里的说法"), "forbidden")
    refused(sec1, app, tid, op("task", tid, base=4, flag="too_much"), "invalid_value")


def test_the_village_does_not_touch_the_gate(phone, app):
    staff1, sec1 = phone("staff1"), phone("sec1")
    tid = send(staff1, item_code="SX-101")
    approve(phone("approver1"), app, tid)
    for fields in ({"gate": "withdrawn"}, {"gate_reason": "不想做"}, {"item_code": "SX-042"},
                   {"offlist_reason": "村里觉得不在清单上"}, {"support_department": "县里"},
                   {"dispatch_id": str(uuid.uuid4())}):
        refused(sec1, app, tid, op("task", tid, base=2, **fields), "forbidden")
    # A village's own plan task passes no gate, and township people cannot put it through one.
    own = op("task", title="周一：走访五保户")
    result(sec1, own)
    row = state(app, own["id"])
    assert (row["origin"], row["gate"], row["sent_on"], row["item_code"]) == ("village", None, None, None)
    refused(staff1, app, own["id"], op("task", own["id"], base=1, gate="approved"), "forbidden")
    refused(sec1, app, own["id"], op("task", own["id"], base=1, item_code="SX-042"), "forbidden")


# ---------------------------------------------------------------- one dispatch, several villages

def test_one_dispatch_to_several_villages(phone, app):
    staff1, approver1 = phone("staff1"), phone("approver1")
    dispatch = str(uuid.uuid4())
    ops = [task(unit=unit, item_code="SX-108", title="森林防火巡查", dispatch_id=dispatch)
           for unit in ("V11", "V12", "V21")]
    outcomes = result(staff1, *ops)
    assert [o["status"] for o in outcomes] == ["applied", "applied", "rejected"]
    assert outcomes[2]["error"]["code"] == "out_of_scope"
    with app.app_context():
        rows = db.session.scalars(select(Task).where(Task.dispatch_id == dispatch)).all()
        assert sorted(r.unit.code for r in rows) == ["V11", "V12"]
        assert {(r.gate, r.item_name, r.duplicate_of) for r in rows} == {("pending", "森林防火巡查", None)}
    sec1, sec12, sec2 = phone("sec1"), phone("sec12"), phone("sec2")
    for village in (sec1, sec12, sec2):
        village.sync()
    decisions = result(approver1, *[op("task", o["id"], base=1, gate="approved") for o in ops[:2]])
    assert [d["status"] for d in decisions] == ["applied", "applied"]
    assert set(pulled(sec1)) == {ops[0]["id"]} and set(pulled(sec12)) == {ops[1]["id"]}
    assert not pulled(sec2)
    assert pulled(sec1, fresh=True)[ops[0]["id"]]["fields"]["dispatch_id"] == dispatch


def test_every_decision_is_in_the_op_log(phone, app):
    staff1, approver1 = phone("staff1"), phone("approver1")
    tid = send(staff1, item_code="SX-042")
    result(approver1, op("task", tid, base=1, gate="returned"))                       # refused: no reason
    decide(approver1, app, tid, "returned", gate_reason="请写清楚办理对象")
    result(staff1, op("task", tid, base=2, detail="80岁以上"))
    approve(approver1, app, tid)
    with app.app_context():
        logged = db.session.scalars(select(OpLog).where(OpLog.record_id == tid)
                                    .order_by(OpLog.received_at)).all()
        assert [(e.status, e.error_code, (e.changes or {}).get("gate")) for e in logged] == [
            ("applied", None, None), ("rejected", "required", "returned"), ("applied", None, "returned"),
            ("applied", None, None), ("applied", None, "approved")]
    entries = history(staff1, "task", tid).get_json()["history"]
    assert [e["user"] for e in entries if e["status"] == "applied"] == ["staff1", "approver1", "staff1", "approver1"]


def test_a_decided_task_keeps_its_item(phone, app):
    """Once approved, a task cannot be moved onto another item or off the list behind the approver's back:
    that is a new dispatch. Its words can still be clarified."""
    staff1, approver1 = phone("staff1"), phone("approver1")
    task_id = send(staff1, item_code="SX-108", title="防火巡查")
    approve(approver1, app, task_id)
    refused(staff1, app, task_id, op("task", task_id, base=2, item_code="SX-042"), "forbidden")
    refused(staff1, app, task_id, op("task", task_id, base=2, item_code=None, offlist_reason=REASON), "forbidden")
    assert result(staff1, op("task", task_id, base=2, detail="请在周五前完成"))["status"] == "applied"


def test_a_village_never_learns_of_a_task_it_does_not_have_through_duplicate_of(phone, app):
    staff1, approver1, sec1 = phone("staff1"), phone("approver1"), phone("sec1")
    hidden = send(staff1, item_code="SX-042")                 # pending: the village must not know of it
    later = send(approver1, item_code="SX-042", title="老年优待证再摸底")
    assert state(app, later)["duplicate_of"] == hidden
    approve(approver1, app, later, gate_reason="两件事要求不同，都要办")
    body = sec1.sync().get_json()
    [task] = [c for c in body["changes"] if c["id"] == later]
    assert "duplicate_of" not in task["fields"] and hidden not in str(body)
    history = sec1.client.get(f"/api/history/task/{later}", headers={"Authorization": f"Bearer {sec1.token}"})
    assert history.status_code == 200 and hidden not in history.get_data(as_text=True)
    township = staff1.sync().get_json()
    assert [c for c in township["changes"] if c["id"] == later][0]["fields"]["duplicate_of"] == hidden


def test_a_decision_changes_only_the_gate(phone, app):
    staff1, approver1 = phone("staff1"), phone("approver1")
    send(staff1, item_code="SX-042")
    clean = send(staff1, item_code="SX-101", title="垃圾清运点排查")
    # Moving it onto the earlier task's item while approving would send an unmarked duplicate down.
    refused(approver1, app, clean, op("task", clean, base=1, gate="approved", item_code="SX-042"), "forbidden")
    refused(approver1, app, clean, op("task", clean, base=1, gate="approved", title="别的事"), "forbidden")


def test_approving_checks_the_duplicates_as_they_stand(phone, app):
    staff1, approver1 = phone("staff1"), phone("approver1")
    first = send(staff1, item_code="SX-042")
    second = send(staff1, item_code="SX-042", title="老年优待证再摸底")
    assert state(app, second)["duplicate_of"] == first
    assert decide(approver1, app, first, "rejected", gate_reason="重复")["status"] == "applied"
    approve(approver1, app, second)   # the earlier one was rejected: nothing repeats, no reason needed
    assert state(app, second)["duplicate_of"] is None


def test_only_the_author_sends_a_returned_task_back(phone, app):
    staff1, approver1 = phone("staff1"), phone("approver1")
    task_id = send(staff1, item_code="SX-042")
    assert decide(approver1, app, task_id, "returned", gate_reason="写清截止时间")["status"] == "applied"
    refused(approver1, app, task_id, op("task", task_id, base=2, gate="pending"), "forbidden")
    assert result(staff1, op("task", task_id, base=2, gate="pending"))["status"] == "applied"


def test_odd_parameters_are_answered_not_errors(phone, client, world):
    staff1 = phone("staff1")
    auth = {"Authorization": f"Bearer {staff1.token}"}
    response = client.get("/api/work-items?limit=-1", headers=auth)
    assert response.status_code == 200 and len(response.get_json()["items"]) == 1
    client.post("/login", data={"username": "staff1", "password": PASSWORD})
    assert client.get("/township/dispatch?item=%00").status_code == 200
    assert client.get("/worklist/items/%00").status_code == 404
    assert client.post("/township/tasks/%00/withdraw").status_code == 404
    assert client.post("/township/dispatch", data={"action": "search", "item_q": "\x00x"}).status_code == 200
    client.post("/login", data={"username": "approver1", "password": PASSWORD})
    response = client.post("/township/approvals/decide", data={"action": "approve", "task": "\x00:1"})
    assert response.status_code == 302  # back to the queue, saying nothing was chosen


def test_approving_a_task_does_not_make_it_a_duplicate_of_a_later_one(phone, app):
    staff1, approver1 = phone("staff1"), phone("approver1")
    first = send(staff1, item_code="SX-108", title="进山路口防火巡查")
    later = send(staff1, item_code="SX-108", title="森林防火再巡一次")
    assert state(app, later)["duplicate_of"] == first
    approve(approver1, app, first)   # no reason needed: it repeats nothing the village had before it
    assert state(app, first)["duplicate_of"] is None
