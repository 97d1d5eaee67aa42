"""The township's side of the dispatch gate (派单过筛): the dispatch form, the approver's queue, the author's
revision and withdrawal, tasks whose item left the list, the record page's screening panel.

Every change goes through the one write path; these tests drive the pages with the test client and look at
the rows the engine wrote. Run on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.
"""
from __future__ import annotations

import html as htmllib
import re
import uuid

import pytest
from sqlalchemy import select

from app import sync_service
from app.extensions import db
from app.models import OpLog, Task, Unit, User
from tests.conftest import PASSWORD, WORLD_ITEMS, make_app, on_both_databases


database_url = on_both_databases()


# ---------------------------------------------------------------- helpers

def login(client, username, lang="en"):
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    if lang:
        # The Chinese strings of these pages are merged into the catalogue by the lead; assert on English.
        client.set_cookie("lang", lang)


def page(client, path, status=200):
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    return response.get_data(as_text=True)


def text(html):
    """The page's text: inline tags dropped, others a space, entities decoded, spaces collapsed."""
    html = re.sub(r"</?(?:strong|code|span|a|em|time)\b[^>]*>", "", html)
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def flashes(html, category):
    return [text(m) for m in re.findall(r'<p class="flash flash-' + category + r'" role="alert">(.*?)</p>', html, re.S)]


def form(**overrides):
    data = {"mode": "list", "item_code": "SX-101", "title": "村内垃圾清运点排查", "detail": "每村上报一次",
            "due": "2030-03-14", "week": "2030-W11", "villages": ["V11", "V12"], "action": "send"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def tasks(app, **where):
    with app.app_context():
        query = select(Task)
        for name, value in where.items():
            query = query.where(getattr(Task, name) == value)
        rows = db.session.scalars(query.order_by(Task.created_at)).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def task(app, task_id):
    with app.app_context():
        row = db.session.get(Task, task_id)
        db.session.expunge(row)
        return row


def submit(app, username, *ops):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        return sync_service.submit(user, list(ops))


def new_task(app, username, village, **fields):
    """A township task made through the one write path (as another page or a phone would)."""
    op = {"op": str(uuid.uuid4()), "type": "task", "id": str(uuid.uuid4()), "base": None, "unit": village,
          "set": {"title": "森林防火巡查", "item_code": "SX-108", **fields}}
    result = submit(app, username, op)[0]
    assert result["status"] == "applied", result
    return op["id"]


def edit(app, username, task_id, **fields):
    row = task(app, task_id)
    result = submit(app, username, {"op": str(uuid.uuid4()), "type": "task", "id": task_id, "base": row.version,
                                    "set": fields})[0]
    assert result["status"] in ("applied", "merged"), result
    return result


def dispatch(client, **overrides):
    return client.post("/township/dispatch", data=form(**overrides))


def tokens(html, name="task"):
    return re.findall(r'name="' + name + r'" value="([^"]+)"', html)


def card(html, key):
    match = re.search(r'<li class="tw-dispatch-card[^"]*" id="dispatch-' + re.escape(key) + r'">(.*?)</li>\s*(?=<li class="tw-dispatch-card|</ol>)',
                      html, re.S)
    assert match, f"no dispatch card {key}"
    return match.group(1)


def decide(client, action, task_tokens=(), reason=None, dispatches=(), follow=True):
    data = {"action": action, "task": list(task_tokens), "dispatch": list(dispatches)}
    if reason is not None:
        data["reason"] = reason
    return client.post("/township/approvals/decide", data=data, follow_redirects=follow)


# ---------------------------------------------------------------- dispatching

def test_a_dispatch_to_two_villages_is_two_pending_tasks_of_one_dispatch(client, app, world):
    login(client, "staff1")
    html = page(client, "/township/dispatch")
    assert 'name="villages" value="V11"' in html and 'name="villages" value="V12"' in html
    assert 'value="V21"' not in html and "三村" not in html
    assert 'src="/static/js/township-dispatch.js' in html and "<script>" not in html

    response = dispatch(client, item_code=" sx-101 ")      # typed by hand, any case: the county's code is used
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    made = tasks(app)
    assert len(made) == 2
    assert {t.unit_id for t in made} == {world["V11"], world["V12"]}
    assert len({t.dispatch_id for t in made}) == 1 and made[0].dispatch_id
    assert response.headers["Location"].endswith(f"/township/tasks#dispatch-{made[0].dispatch_id}")
    for t in made:
        assert (t.gate, t.origin, t.item_code, t.item_name) == ("pending", "township", "SX-101", "农村人居环境整治")
        assert t.support_department == "县农业农村局" and t.sent_on is None
    with app.app_context():
        logged = db.session.scalars(select(OpLog).where(OpLog.type == "task")).all()
        assert sorted(o.status for o in logged) == ["applied", "applied"]

    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "waits for the approver's screening before it reaches 一村, 二村" in text(html)
    mine = html[html.index('id="my-dispatches"'):html.index('id="all-tasks"')]
    assert f'id="dispatch-{made[0].dispatch_id}"' in mine
    assert mine.count("Awaiting approval") == 2


def test_the_supporting_department_can_be_named(client, app, world):
    login(client, "staff1")
    assert dispatch(client, villages=["V11"], support_department="镇综合执法队").status_code == 302
    assert tasks(app)[0].support_department == "镇综合执法队"


def test_an_off_list_task_without_a_reason_is_refused_and_nothing_is_made(client, app, world):
    login(client, "staff1")
    response = dispatch(client, mode="offlist", item_code="SX-101", offlist_reason="临时需要")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    outcome = text(html[html.index('id="dispatch-outcome"'):html.index('id="dispatch-form"')])
    assert "Nothing was sent" in outcome
    message = "Not sent: an off-list task needs a written reason of at least 10 characters."
    assert f"一村: {message}" in outcome and f"二村: {message}" in outcome
    assert tasks(app) == []
    # The form keeps what was typed, and both villages stay ticked for the next try.
    assert "临时需要" in html and 'value="V11" checked' in html and 'value="V12" checked' in html


def test_an_off_list_task_with_its_reason_waits_for_screening(client, app, world):
    login(client, "staff1")
    reason = "县消防大队冬季专项排查，清单暂无对应事项。"
    assert dispatch(client, mode="offlist", offlist_reason=reason, villages=["V11"]).status_code == 302
    made = tasks(app)[0]
    assert (made.gate, made.item_code, made.offlist_reason) == ("pending", None, reason)


@pytest.mark.parametrize("code, message", [
    ("SX-201", "Not sent: item “SX-201” is on the county's cancelled list and may no longer be sent to villages."),
    ("SX-190", "Not sent: item “SX-190” has been retired from the county's list."),
    ("SX-999", "Not sent: the county's work-item list has no item “SX-999”."),
    ("", "Not sent: choose an item of the county's work-item list, or mark the task as off the list and give the reason."),
])
def test_an_item_that_may_not_be_sent_is_named_per_village(client, app, world, code, message):
    login(client, "staff1")
    response = dispatch(client, item_code=code)
    assert response.status_code == 400
    outcome = text(response.get_data(as_text=True))
    assert f"一村: {message}" in outcome and f"二村: {message}" in outcome
    assert tasks(app) == []


def assignee_error(response):
    found = re.search(r'<p class="form-error" role="alert" id="assignee-error">(.*?)</p>', response.get_data(as_text=True))
    return htmllib.unescape(found.group(1)) if found else None


def test_the_assignee_is_for_a_single_village_and_one_of_its_people(client, app, world):
    login(client, "staff1")
    response = dispatch(client, assignee="cadre1")
    assert response.status_code == 400
    assert assignee_error(response).startswith("An assignee can be named only when the task goes to a single village.")
    # A person of another village, posted anyway (a page without its script): said at the field, nothing sent.
    response = dispatch(client, villages=["V11"], assignee="sec12")
    assert response.status_code == 400
    assert assignee_error(response) == ("“sec12” is not one of 一村's people. Choose one of them, or let the "
                                        "village decide.")
    html = response.get_data(as_text=True)
    assert 'aria-describedby="assignee-error assignee-hint" aria-invalid="true"' in html
    assert 'id="dispatch-outcome"' not in html and 'value="V11" checked' in html   # the form as it was
    assert dispatch(client, villages=["V11"], assignee="staff1").status_code == 400     # not a village's person
    assert tasks(app) == []
    response = dispatch(client, villages=["V11"], assignee="cadre1")
    assert response.status_code == 302 and assignee_error(response) is None
    assert tasks(app)[0].assignee == "cadre1"


def test_every_offered_assignee_names_the_village_the_script_filters_by(client, world):
    """The page carries each person with their village (data-village); the script keeps only the chosen
    village's. Another township's people are never on the page."""
    login(client, "staff1")
    html = page(client, "/township/dispatch?village=V12")
    offered = re.findall(r'<option value="([^"]+)" data-village="([^"]+)"', html)
    assert sorted(offered) == [("cadre1", "V11"), ("sec1", "V11"), ("sec12", "V12")]
    assert "sec2" not in html and 'id="assignee-error"' not in html


@pytest.mark.parametrize("overrides, message", [
    ({"title": "  "}, "Not saved: “Title” is required."),
    ({"week": "2030-13"}, "Not saved: the value of “Week” is not valid."),
    ({"due": "2030-02-30"}, "Not saved: the value of “Due” is not valid."),
])
def test_the_engines_other_rejections_are_named_per_village(client, app, world, overrides, message):
    login(client, "staff1")
    response = dispatch(client, **overrides)
    assert response.status_code == 400
    shown = text(response.get_data(as_text=True))
    assert f"一村: {message}" in shown and f"二村: {message}" in shown
    assert tasks(app) == []


def test_no_village_chosen_is_a_form_error(client, app, world):
    login(client, "staff1")
    response = dispatch(client, villages=[])
    assert response.status_code == 400 and "Choose at least one village." in response.get_data(as_text=True)
    assert tasks(app) == []


def test_a_partial_dispatch_says_which_villages_got_it_and_keeps_the_dispatch(client, app, world):
    login(client, "staff1")
    response = dispatch(client, villages=["V11", "V21"])
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    outcome = text(html[html.index('id="dispatch-outcome"'):html.index('id="dispatch-form"')])
    assert "Sent to some villages only" in outcome
    assert "一村: Awaiting approval" in outcome
    assert "V21: Not saved: choose a village in your area." in outcome
    made = tasks(app)
    assert [t.unit_id for t in made] == [world["V11"]]
    # The village that got it is shown as sent (and not posted again); the dispatch id is kept.
    assert 'name="villages" value="V11"' not in html
    assert f'name="dispatch_id" value="{made[0].dispatch_id}"' in html
    again = client.post("/township/dispatch", data=form(villages=["V12"], dispatch_id=made[0].dispatch_id))
    assert again.status_code == 302
    assert {t.dispatch_id for t in tasks(app)} == {made[0].dispatch_id} and len(tasks(app)) == 2


def test_a_dispatch_id_already_used_for_the_village_is_not_reused(client, app, world):
    login(client, "staff1")
    assert dispatch(client, villages=["V11"]).status_code == 302
    first = tasks(app)[0]
    assert client.post("/township/dispatch", data=form(villages=["V11"], dispatch_id=first.dispatch_id)).status_code == 302
    second = [t for t in tasks(app) if t.id != first.id][0]
    assert second.dispatch_id != first.dispatch_id


def test_the_list_can_be_searched_and_picked_without_javascript(client, app, world):
    login(client, "staff1")
    html = client.post("/township/dispatch", data=form(action="search", item_q="防火", villages=["V12"])).get_data(as_text=True)
    assert '<button type="submit" name="pick" value="SX-108"' in html
    assert 'value="SX-201"' not in html                    # only active items are offered
    assert "村内垃圾清运点排查" in html and 'value="V12" checked' in html   # what was typed stays
    html = client.post("/township/dispatch", data=form(pick="SX-108", villages=["V12"])).get_data(as_text=True)
    shown = text(html[html.index('id="item-card"'):html.index('id="mode-offlist-panel"')])
    assert "SX-108" in shown and "森林防火巡查" in shown and "《森林防火条例》第二十条" in shown
    assert "县林业局" in shown and "6 hours per village" in shown
    assert tasks(app) == []


def test_the_work_item_api_answers_the_page_session(client, world):
    login(client, "staff1")
    body = client.get("/api/work-items?q=防火").get_json()
    assert [i["code"] for i in body["items"]] == ["SX-108"]


def test_only_township_people_dispatch(client, app, world):
    login(client, "admin")
    assert client.get("/township/dispatch").status_code == 403
    assert client.post("/township/dispatch", data=form()).status_code == 403
    login(client, "sec1")
    assert client.get("/township/dispatch").status_code == 302
    assert tasks(app) == []


def test_an_approvers_own_clean_dispatch_passes_at_once(client, app, world):
    login(client, "approver1")
    response = dispatch(client, villages=["V11"])
    assert response.status_code == 302
    made = tasks(app)[0]
    assert made.gate == "approved" and made.sent_on is not None
    assert "is approved and reaches 一村 at their next sync" in text(client.get("/township/tasks").get_data(as_text=True))


def test_the_dispatch_form_needs_a_csrf_token(app, world, database_url):
    protected = make_app(database_url, WTF_CSRF_ENABLED=True)
    client = protected.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"username": "staff1", "password": PASSWORD, "csrf_token": token})
    client.post("/township/dispatch", data=form())
    with protected.app_context():
        assert db.session.scalar(select(Task)) is None
    html = client.get("/township/dispatch").get_data(as_text=True)
    form_token = re.search(r'<input type="hidden" name="csrf_token" value="([^"]+)">', html).group(1)
    assert client.post("/township/dispatch", data=form(csrf_token=form_token)).status_code == 302
    with protected.app_context():
        assert len(db.session.scalars(select(Task)).all()) == 2


# ---------------------------------------------------------------- the approver's queue

def test_the_queue_groups_a_dispatch_and_shows_the_earlier_task_side_by_side(client, app, world):
    earlier = new_task(app, "approver1", "V11", title="办理老年优待证", item_code="SX-042")   # approved at once
    login(client, "staff1")
    assert dispatch(client, item_code="SX-042", title="老年优待证再摸底", due="2030-01-10").status_code == 302
    made = tasks(app, gate="pending")
    key = made[0].dispatch_id
    dup = next(t for t in made if t.unit_id == world["V11"])
    assert dup.duplicate_of == earlier

    login(client, "approver1")
    html = page(client, "/township/approvals")
    assert html.count('class="tw-dispatch-card') == 1
    one = card(html, key)
    shown = text(one)
    for fact in ("老年优待证再摸底", "SX-042", "办理老年优待证", "《老年人权益保障法》第五十七条", "县民政局",
                 "3 hours per village", "6 hours for the 2 villages", "staff1", "Due 2030-01-10", "Waiting for"):
        assert fact in shown, fact
    assert "一村" in shown and "二村" in shown
    compare = text(one[one.index('class="tw-compare"'):])
    assert "This dispatch" in compare and "The earlier task" in compare
    assert "Approved" in compare and "Received" in compare
    assert f'href="/township/records/task/{earlier}"' in one
    assert task(app, earlier).sent_on.isoformat() in compare
    # A dispatch with a repeat is not offered for the batch approval.
    assert 'form="bulk-approve"' not in one


def test_the_queue_puts_the_nearest_due_date_first_then_the_longest_waiting(client, app, world):
    later = new_task(app, "staff1", "V11", title="后到期", due="2030-05-01", item_code="SX-101")
    sooner = new_task(app, "staff1", "V12", title="先到期", due="2030-04-01", item_code="SX-101")
    no_due = new_task(app, "staff1", "V12", title="无期限", item_code="SX-108")
    old_no_due = new_task(app, "staff1", "V11", title="早就在等", item_code="SX-042")
    with app.app_context():
        import datetime as dt
        db.session.get(Task, old_no_due).created_at -= dt.timedelta(days=3)
        db.session.commit()
    login(client, "approver1")
    html = page(client, "/township/approvals")
    order = [html.index(f'id="dispatch-{i}"') for i in (sooner, later, old_no_due, no_due)]
    assert order == sorted(order)
    assert "Waiting for 3 days" in text(card(html, old_no_due))


def test_approve_reject_return_and_the_reasons_they_need(client, app, world):
    earlier = new_task(app, "approver1", "V11", item_code="SX-042", title="办理老年优待证")
    login(client, "staff1")
    dispatch(client, item_code="SX-042", title="老年优待证再摸底")
    made = {t.unit_id: t for t in tasks(app, gate="pending")}
    dup, clean = made[world["V11"]], made[world["V12"]]
    assert dup.duplicate_of == earlier

    login(client, "approver1")
    html = page(client, "/township/approvals")
    by_id = {t.split(":")[0]: t for t in tokens(html)}
    # Approving both at once: the clean one passes; the repeat needs a reason and says so.
    result = decide(client, "approve", [by_id[dup.id], by_id[clean.id]]).get_data(as_text=True)
    assert "Approved for 二村: the task reaches them at their next sync." in flashes(result, "success")
    assert ("一村, “老年优待证再摸底”: Not approved: this task repeats an earlier one, so approving it needs a reason."
            in flashes(result, "error"))
    assert task(app, clean.id).gate == "approved" and task(app, clean.id).sent_on is not None
    assert task(app, dup.id).gate == "pending"
    # Rejecting needs a reason too …
    result = decide(client, "reject", [f"{dup.id}:{task(app, dup.id).version}"]).get_data(as_text=True)
    assert "Not saved: rejecting or returning a task needs a reason." in " ".join(flashes(result, "error"))
    # … and with one, it is rejected and the reason kept.
    result = decide(client, "reject", [f"{dup.id}:{task(app, dup.id).version}"], reason="与已下发的任务重复").get_data(as_text=True)
    assert "Rejected for 一村. The author sees your reason." in flashes(result, "success")
    assert (task(app, dup.id).gate, task(app, dup.id).gate_reason) == ("rejected", "与已下发的任务重复")
    assert f'id="dispatch-{dup.dispatch_id}"' not in page(client, "/township/approvals")


def test_approving_a_repeat_with_a_reason(client, app, world):
    new_task(app, "approver1", "V11", item_code="SX-042")
    login(client, "staff1")
    dispatch(client, item_code="SX-042", villages=["V11"])
    dup = tasks(app, gate="pending")[0]
    login(client, "approver1")
    result = decide(client, "approve", tokens(page(client, "/township/approvals")), reason="上次只覆盖了80岁以上老人")
    assert "Approved for 一村" in " ".join(flashes(result.get_data(as_text=True), "success"))
    assert (task(app, dup.id).gate, task(app, dup.id).gate_reason) == ("approved", "上次只覆盖了80岁以上老人")


def test_return_for_revision_then_the_author_revises_and_it_is_pending_again(client, app, world):
    login(client, "staff1")
    dispatch(client, title="垃圾清运点排查")
    made = tasks(app)
    login(client, "approver1")
    decide(client, "return", tokens(page(client, "/township/approvals")), reason="请写明上报方式和截止时间")
    assert {task(app, t.id).gate for t in made} == {"returned"}

    login(client, "staff1")
    html = page(client, "/township/tasks")
    mine = text(html[html.index('id="my-dispatches"'):html.index('id="all-tasks"')])
    assert mine.count("Returned for revision") == 2 and "Approver: 请写明上报方式和截止时间" in mine
    first = made[0]
    assert f'href="/township/dispatch/{first.id}/revise"' in html

    html = page(client, f"/township/dispatch/{first.id}/revise")
    assert "请写明上报方式和截止时间" in html and 'value="垃圾清运点排查"' in html
    assert 'name="also" value="' + made[1].id + '" checked' in html        # the dispatch's other returned task
    response = client.post(f"/township/dispatch/{first.id}/revise", data={
        "mode": "list", "item_code": "SX-101", "title": "垃圾清运点排查（周五前在群里上报）", "detail": "每村上报一次",
        "due": "2030-03-14", "week": "2030-W11", "version": str(task(app, first.id).version), "also": [made[1].id],
        "action": "send"})
    assert response.status_code == 302, text(response.get_data(as_text=True))[:1500]
    for t in made:
        after = task(app, t.id)
        assert (after.gate, after.title) == ("pending", "垃圾清运点排查（周五前在群里上报）")
    login(client, "approver1")
    assert "垃圾清运点排查（周五前在群里上报）" in page(client, "/township/approvals")


def test_a_returned_task_resubmitted_unchanged_goes_back_to_pending(client, app, world):
    login(client, "staff1")
    dispatch(client, villages=["V11"])
    made = tasks(app)[0]
    login(client, "approver1")
    decide(client, "return", tokens(page(client, "/township/approvals")), reason="请再确认一下")
    login(client, "staff1")
    fields = {"mode": "list", "item_code": "SX-101", "title": made.title, "detail": made.detail,
              "due": made.due.isoformat(), "week": made.week, "action": "send"}
    assert client.post(f"/township/dispatch/{made.id}/revise", data=fields).status_code == 302
    assert task(app, made.id).gate == "pending"


def test_only_the_author_revises_and_only_a_returned_task(client, app, world):
    login(client, "staff1")
    dispatch(client, villages=["V11"])
    made = tasks(app)[0]
    response = client.get(f"/township/dispatch/{made.id}/revise")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/township/records/task/{made.id}")
    login(client, "approver1")
    assert client.get(f"/township/dispatch/{made.id}/revise").status_code == 403
    login(client, "staff2")
    assert client.get(f"/township/dispatch/{made.id}/revise").status_code == 404


def test_the_batch_approves_several_clean_dispatches(client, app, world):
    login(client, "staff1")
    dispatch(client, item_code="SX-101", title="第一件")
    dispatch(client, item_code="SX-108", title="第二件", villages=["V12"])
    dispatch(client, mode="offlist", offlist_reason="镇党委临时部署的专项排查工作", title="清单外的", villages=["V11"])
    login(client, "approver1")
    html = page(client, "/township/approvals")
    batch = tokens(html, "dispatch")
    assert len(batch) == 2                                   # the off-list one is not offered for the batch
    html = client.post("/township/approvals/decide", data={"action": "approve", "dispatch": batch},
                       follow_redirects=True).get_data(as_text=True)
    assert "Approved for 一村, 二村, 二村" in " ".join(flashes(html, "success"))
    gates = {t.title: t.gate for t in tasks(app)}
    assert gates == {"第一件": "approved", "第二件": "approved", "清单外的": "pending"}
    assert gates and "清单外的" in page(client, "/township/approvals")


def test_staff_see_the_queue_read_only_and_may_not_decide(client, app, world):
    login(client, "staff1")
    dispatch(client, villages=["V11"])
    made = tasks(app)[0]
    html = page(client, "/township/approvals")
    assert 'id="approvals-readonly"' in html and "/township/approvals/decide" not in html
    response = client.post("/township/approvals/decide", data={"action": "approve", "task": [f"{made.id}:1"]})
    assert response.status_code == 403
    assert task(app, made.id).gate == "pending"
    login(client, "approver1")
    assert 'id="nav-approvals"' in page(client, "/township/journals")


def test_a_decision_on_a_changed_task_is_refused_as_stale(client, app, world):
    login(client, "staff1")
    dispatch(client, villages=["V11"])
    made = tasks(app)[0]
    login(client, "approver1")
    shown = tokens(page(client, "/township/approvals"))
    edit(app, "staff1", made.id, due="2030-02-01")          # the author changes it while the approver looks
    result = decide(client, "approve", shown).get_data(as_text=True)
    assert flashes(result, "error") == [
        "一村, “村内垃圾清运点排查”: Not decided: the task changed after you opened the page. Look at it again, then decide."]
    assert task(app, made.id).gate == "pending"
    result = decide(client, "approve", tokens(result)).get_data(as_text=True)
    assert task(app, made.id).gate == "approved"


def test_a_decision_on_a_task_withdrawn_meanwhile_says_so(client, app, world):
    login(client, "staff1")
    dispatch(client, villages=["V11"])
    made = tasks(app)[0]
    login(client, "approver1")
    shown = tokens(page(client, "/township/approvals"))
    edit(app, "staff1", made.id, gate="withdrawn")
    result = decide(client, "approve", shown).get_data(as_text=True)
    assert flashes(result, "error") == ["一村, “村内垃圾清运点排查”: Not decided: meanwhile the task became “Withdrawn”."]
    assert task(app, made.id).gate == "withdrawn"


def test_an_approver_does_not_approve_their_own_off_list_task(client, app, world):
    login(client, "approver1")
    assert dispatch(client, mode="offlist", offlist_reason="镇党委临时部署的专项排查工作", villages=["V11"]).status_code == 302
    made = tasks(app)[0]
    assert made.gate == "pending"
    html = page(client, "/township/approvals")
    assert "You sent this off-list task: another approver decides it." in text(html)
    assert f'name="task" value="{made.id}:' not in html
    result = decide(client, "approve", [f"{made.id}:{made.version}"]).get_data(as_text=True)
    assert ("一村, “村内垃圾清运点排查”: Not approved: you sent this off-list task yourself, so another approver must "
            "decide it.") in flashes(result, "error")


def test_a_second_approver_sees_the_same_queue_and_decides_the_first_ones_off_list_task(client, app, world):
    with app.app_context():
        from app.cli import add_user
        add_user("approver1b", "township_approver", "T1", PASSWORD)
        db.session.commit()
    login(client, "approver1")
    dispatch(client, mode="offlist", offlist_reason="镇党委临时部署的专项排查工作", villages=["V11"])
    client.get("/township/tasks")
    made = tasks(app)[0]
    login(client, "approver1b")
    html = page(client, "/township/approvals")
    assert f'name="task" value="{made.id}:{made.version}"' in html
    result = decide(client, "approve", [f"{made.id}:{made.version}"]).get_data(as_text=True)
    assert "Approved for 一村" in " ".join(flashes(result, "success"))
    assert task(app, made.id).gate == "approved"


def test_another_townships_approver_sees_nothing_and_decides_nothing(client, app, world):
    login(client, "staff1")
    dispatch(client, villages=["V11"])
    client.get("/township/tasks")          # reads the flash that says it was sent
    made = tasks(app)[0]
    with app.app_context():
        from app.cli import add_user
        add_user("approver2", "township_approver", "T2", PASSWORD)
        db.session.commit()
    login(client, "approver2")
    assert "村内垃圾清运点排查" not in page(client, "/township/approvals")
    result = decide(client, "approve", [f"{made.id}:{made.version}"]).get_data(as_text=True)
    assert "not in your area" in " ".join(flashes(result, "error"))
    assert task(app, made.id).gate == "pending"


# ---------------------------------------------------------------- withdrawing, closed items, the record page

def test_the_author_withdraws_a_pending_task(client, app, world):
    login(client, "staff1")
    dispatch(client, villages=["V11"])
    made = tasks(app)[0]
    html = client.post(f"/township/tasks/{made.id}/withdraw", data={"version": str(made.version), "next": "/township/tasks"},
                       follow_redirects=True).get_data(as_text=True)
    assert "“村内垃圾清运点排查” is withdrawn for 一村. It never reached the village." in flashes(html, "success")
    assert task(app, made.id).gate == "withdrawn"
    login(client, "approver1")
    assert f'id="dispatch-{made.dispatch_id}"' not in page(client, "/township/approvals")


def test_an_approver_withdraws_an_approved_task_but_not_a_done_one(client, app, world):
    sent = new_task(app, "staff1", "V11", item_code="SX-101", title="已下发的任务")
    done = new_task(app, "staff1", "V12", item_code="SX-108", title="已完成的任务")
    submit(app, "approver1", *[{"op": str(uuid.uuid4()), "type": "task", "id": i, "base": 1, "set": {"gate": "approved"}}
                               for i in (sent, done)])
    edit(app, "sec12", done, status="done", note="巡查完毕")
    login(client, "approver1")
    html = client.post(f"/township/tasks/{sent}/withdraw", data={"version": str(task(app, sent).version),
                                                                  "reason": "县里已统一安排"},
                       follow_redirects=True).get_data(as_text=True)
    assert "The village sees it as withdrawn at its next sync." in " ".join(flashes(html, "success"))
    assert (task(app, sent).gate, task(app, sent).gate_reason) == ("withdrawn", "县里已统一安排")
    html = client.post(f"/township/tasks/{done}/withdraw", data={"version": str(task(app, done).version)},
                       follow_redirects=True).get_data(as_text=True)
    assert flashes(html, "error") == ["Not withdrawn: the village has already done this task."]
    assert task(app, done).gate == "approved"


def test_open_tasks_of_a_retired_item_are_listed_with_a_withdraw_button(client, app, world):
    kept = new_task(app, "approver1", "V11", item_code="SX-101", title="环境整治任务")
    other = new_task(app, "approver1", "V12", item_code="SX-108", title="防火任务")
    with app.app_context():
        from app.worklist import service as worklist
        county = db.session.get(Unit, world["C"])
        items = [dict(i) for i in WORLD_ITEMS if i["code"] != "SX-101"]        # the next list drops SX-101
        worklist.apply(county, worklist.plan(county, items), None, "test")
        db.session.commit()
    login(client, "staff1")
    html = page(client, "/township/tasks")
    closed = html[html.index('id="closed-items"'):html.index('id="my-dispatches"')]
    assert f'id="closed-{kept}"' in closed and f'id="closed-{other}"' not in closed
    assert "Retired from the list" in text(closed)
    assert "Its author or an approver can withdraw it." in text(closed)   # staff1 did not send it
    login(client, "approver1")
    html = page(client, "/township/tasks")
    closed = html[html.index('id="closed-items"'):html.index('id="my-dispatches"')]
    assert f'action="/township/tasks/{kept}/withdraw"' in closed
    client.post(f"/township/tasks/{kept}/withdraw", data={"version": str(task(app, kept).version),
                                                           "next": "/township/tasks"})
    assert task(app, kept).gate == "withdrawn"
    assert 'id="closed-items"' not in page(client, "/township/tasks")


def test_the_record_page_shows_the_screening_and_the_villages_flag(client, app, world):
    earlier = new_task(app, "approver1", "V11", item_code="SX-042", title="办理老年优待证")
    login(client, "staff1")
    dispatch(client, item_code="SX-042", title="老年优待证再摸底", villages=["V11"], support_department="镇民政办")
    dup = tasks(app, gate="pending")[0]
    login(client, "approver1")
    decide(client, "approve", tokens(page(client, "/township/approvals")), reason="范围扩大到60岁以上")
    edit(app, "sec1", dup.id, flag="duplicate", flag_note="上个月刚报过同样的名单")

    login(client, "staff1")
    html = page(client, f"/township/records/task/{dup.id}")
    panel = html[html.index('id="screening"'):html.index('id="thread"')]
    shown = text(panel)
    for fact in ("SX-042", "办理老年优待证", "《老年人权益保障法》第五十七条", "镇民政办", "Approved", "范围扩大到60岁以上",
                 task(app, dup.id).sent_on.isoformat(), "Duplicate dispatch", "上个月刚报过同样的名单",
                 "3 hours per village"):
        assert fact in shown, fact
    assert f'href="/township/records/task/{earlier}"' in panel
    fields = html[html.index('class="tw-facts tw-fields"'):html.index('id="screening"')]
    assert 'data-field="dispatch_id"' not in fields and 'data-field="gate"' not in fields
    assert 'id="comment-form"' in html                           # the township answers in the thread
    assert f'action="/township/tasks/{dup.id}/withdraw"' in panel   # its author may still withdraw it


def test_the_record_page_lets_the_approver_decide(client, app, world):
    login(client, "staff1")
    dispatch(client, villages=["V11"])
    made = tasks(app)[0]
    login(client, "approver1")
    html = page(client, f"/township/records/task/{made.id}")
    assert 'id="record-decide"' in html and f'name="task" value="{made.id}:{made.version}"' in html
    result = client.post("/township/approvals/decide", data={"action": "approve", "task": f"{made.id}:{made.version}",
                                                             "next": f"/township/records/task/{made.id}"})
    assert result.headers["Location"].endswith(f"/township/records/task/{made.id}")
    assert task(app, made.id).gate == "approved"
    assert "Not yet" not in text(page(client, f"/township/records/task/{made.id}"))


def test_a_village_task_has_no_screening_panel(client, app, world):
    submit(app, "sec1", {"op": str(uuid.uuid4()), "type": "task", "id": (tid := str(uuid.uuid4())), "base": None,
                         "set": {"title": "村里自己的计划"}})
    login(client, "staff1")
    html = page(client, f"/township/records/task/{tid}")
    assert 'id="screening"' not in html and 'data-field="gate"' not in html


def test_the_pages_render_in_chinese(client, app, world):
    login(client, "staff1", lang=None)
    dispatch(client, villages=["V11"])
    for path in ("/township/dispatch", "/township/tasks", "/township/approvals"):
        assert page(client, path)
    login(client, "approver1", lang=None)
    assert "一村" in page(client, "/township/approvals")


def test_the_approver_sees_the_villages_flags_until_the_task_is_done(app, client, world):
    task_id = new_task(app, "staff1", "V11")
    edit(app, "approver1", task_id, gate="approved")
    quiet = new_task(app, "staff1", "V12", item_code="SX-101", title="垃圾清运点排查")
    edit(app, "approver1", quiet, gate="approved")
    edit(app, "sec1", task_id, flag="burden", flag_note="村里只有两个护林员，一周巡三次做不到")
    login(client, "approver1")
    html = page(client, "/township/approvals")
    assert f'id="flagged-{task_id}"' in html and f'id="flagged-{quiet}"' not in html
    assert "村里只有两个护林员" in html and "Too heavy a burden" in text(html)
    edit(app, "sec1", task_id, status="done", note="已按两次巡查安排")
    assert f'id="flagged-{task_id}"' not in page(client, "/township/approvals")
