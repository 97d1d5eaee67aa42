"""Township pages for problems, residents' requests, pavilion meetings and tasks, and the record page
(fields, open conflicts with acknowledgement, history). Every change goes through sync_service.submit."""
from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from sqlalchemy import select

from app import sync_service
from app.extensions import db
from app.models import Journal, OpLog, Problem, Request, Task, Unit, User
from tests.conftest import PAST_YEAR, PASSWORD, make_app

# ---------------------------------------------------------------- helpers

RESIDENT = "张三丰"
CONTACT = "13812345678"


def login(client, username, lang="en"):
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    if lang:
        # The Chinese strings of these pages are merged into the catalogue by the lead; assert on English.
        client.set_cookie("lang", lang)


def op(rtype, record_id=None, base=None, **fields):
    return {"op": str(uuid.uuid4()), "type": rtype, "id": record_id or str(uuid.uuid4()), "base": base,
            "set": fields}


def submit(app, username, *ops):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        return sync_service.submit(user, list(ops))


def create(app, username, rtype, **fields):
    """Create a record as `username` through the one write path; return its id."""
    new = op(rtype, **fields)
    result = submit(app, username, new)[0]
    assert result["status"] == "applied", result
    return new["id"]


def edit(app, username, rtype, record_id, base, **fields):
    result = submit(app, username, op(rtype, record_id, base, **fields))[0]
    assert result["status"] in ("applied", "merged"), result
    return result


def row(app, model, record_id):
    with app.app_context():
        found = db.session.get(model, record_id)
        db.session.expunge(found)
        return found


def page(client, path, status=200):
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    return response.get_data(as_text=True)


def flashes(html, category):
    return re.findall(r'<p class="flash flash-' + category + r'" role="alert">(.*?)</p>', html, re.S)


def history_entries(html):
    return re.findall(r'<li class="tw-entry" id="history-\d+">(.*?)</li>', html, re.S)


def resolved_problem(app, title="水渠堵了"):
    pid = create(app, "sec1", "problem", title=title)
    edit(app, "sec1", "problem", pid, 1, status="resolved", resolution="清理了水渠")
    return pid


def conflicted_problem(app):
    """Two people of the village edit the title from the same version: a conflict, later arrival kept."""
    pid = create(app, "sec1", "problem", title="旧标题")
    edit(app, "cadre1", "problem", pid, 1, title="村干部的标题")
    result = edit(app, "sec1", "problem", pid, 1, title="书记的标题")
    assert result["status"] == "merged" and result["conflicts"]
    return pid


# ---------------------------------------------------------------- access and scope

PAGES = ["/township/problems", "/township/requests", "/township/meetings", "/township/tasks"]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_and_field_users_are_kept_out(client, world, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(client, "cadre1")
    response = client.get(path)
    assert response.status_code == 302 and "/township" not in response.headers["Location"]


def test_nav_links_the_new_pages(client, world):
    login(client, "approver1")
    html = page(client, "/township/journals")
    for path in ("/township/problems", "/township/requests", "/township/tasks"):
        assert f'href="{path}"' in html
    assert 'href="/township/meetings"' in page(client, "/township/requests")


def test_lists_and_records_are_scoped_to_the_township(client, app, world):
    mine = {"problem": create(app, "sec1", "problem", title="一村的问题"),
            "request": create(app, "sec1", "request", content="一村的诉求"),
            "meeting": create(app, "sec1", "meeting", topic="一村的议事"),
            "task": create(app, "sec1", "task", title="一村的任务"),
            "journal": create(app, "sec1", "journal", text="一村的日志")}
    theirs = {"problem": create(app, "sec2", "problem", title="三村的问题"),
              "request": create(app, "sec2", "request", content="三村的诉求"),
              "meeting": create(app, "sec2", "meeting", topic="三村的议事"),
              "task": create(app, "sec2", "task", title="三村的任务"),
              "journal": create(app, "sec2", "journal", text="三村的日志")}
    login(client, "staff1")
    for path in PAGES:
        html = page(client, path)
        assert "三村" not in html, path
    assert "一村的问题" in page(client, "/township/problems")
    assert "一村的诉求" in page(client, "/township/requests")
    assert "一村的议事" in page(client, "/township/meetings")
    assert "一村的任务" in page(client, "/township/tasks")

    for path in PAGES:
        html = page(client, path + "?village=V21", status=404)
        assert 'id="unknown-village"' in html and "三村的" not in html

    for rtype, record_id in theirs.items():
        html = page(client, f"/township/records/{rtype}/{record_id}", status=404)
        assert "三村" not in html
        with app.app_context():
            staff = db.session.scalar(select(User).where(User.username == "staff1"))
            assert sync_service.history(staff, rtype, record_id) is None
    for rtype, record_id in mine.items():
        html = page(client, f"/township/records/{rtype}/{record_id}")
        assert 'id="history"' in html and "sec1" in html
    page(client, f"/township/records/nonsense/{mine['problem']}", status=404)
    page(client, f"/township/records/problem/{uuid.uuid4()}", status=404)

    # Another township's staff sees the other half; the admin sees both.
    client.post("/logout")
    login(client, "staff2")
    assert "三村的问题" in page(client, "/township/problems")
    page(client, f"/township/records/problem/{mine['problem']}", status=404)
    client.post("/logout")
    login(client, "admin")
    html = page(client, "/township/problems")
    assert "一村的问题" in html and "三村的问题" in html


def test_actions_on_another_townships_record_are_404_and_change_nothing(client, app, world):
    pid = create(app, "sec2", "problem", title="三村的问题")
    edit(app, "sec2", "problem", pid, 1, status="resolved", resolution="好了")
    login(client, "staff1")
    for action, data in (("verify", {}), ("reopen", {"reason": "不行"}), ("ack", {})):
        path = (f"/township/records/problem/{pid}/{action}")
        assert client.post(path, data=data).status_code == 404, action
    after = row(app, Problem, pid)
    assert after.status == "resolved" and after.version == 2
    with app.app_context():
        staff = db.session.scalar(select(User).where(User.username == "staff1"))
        assert db.session.scalar(select(OpLog).where(OpLog.user_id == staff.id)) is None


# ---------------------------------------------------------------- problems list

def test_problems_urgent_first_then_newest_with_filters_and_marks(client, app, world):
    journal = create(app, "sec1", "journal", text="走访时听说")
    far_journal = create(app, "sec2", "journal", text="三村的日志")
    old = create(app, "sec1", "problem", title="老问题", source_type="journal", source_id=journal)
    urgent = create(app, "sec12", "problem", title="饮水困难", urgent=True, category="饮水")
    new = create(app, "sec1", "problem", title="新问题", source_type="journal", source_id=far_journal,
                 owner="cadre1", due=f"{PAST_YEAR}-04-01")
    login(client, "staff1")
    html = page(client, "/township/problems")
    assert html.index("饮水困难") < html.index("新问题") < html.index("老问题")
    assert 'id="problem-%s" class="urgent"' % urgent in html
    # The source links to the record only when it is in scope.
    old_row = re.search(r'<tr id="problem-%s".*?</tr>' % old, html, re.S).group(0)
    assert f'href="/township/records/journal/{journal}"' in old_row
    new_row = re.search(r'<tr id="problem-%s".*?</tr>' % new, html, re.S).group(0)
    assert "Journal" in new_row and far_journal not in html
    assert "cadre1" in html and f"{PAST_YEAR}-04-01" in html and "饮水" in html and "二村" in html

    edit(app, "sec1", "problem", new, 1, status="in_progress")
    html = page(client, "/township/problems?status=in_progress")
    assert "新问题" in html and "老问题" not in html and "饮水困难" not in html
    assert '<option value="in_progress" selected>' in html
    html = page(client, "/township/problems?village=V12")
    assert "饮水困难" in html and "新问题" not in html
    assert "tw-conflict" not in html


def test_problems_are_paginated_by_fifty(client, app, world):
    submit(app, "sec1", *[op("problem", title=f"问题{i:03d}") for i in range(60)])
    login(client, "staff1")
    first = page(client, "/township/problems")
    assert first.count('<tr id="problem-') == 50
    assert 'href="/township/problems?page=2"' in first
    second = page(client, "/township/problems?page=2")
    assert second.count('<tr id="problem-') == 10 and 'rel="prev"' in second


# ---------------------------------------------------------------- residents' personal data

def test_residents_personal_data_is_masked_everywhere_at_the_township(client, app, world):
    meeting = create(app, "sec1", "meeting", topic="党群议事亭茶话", place="村口凉亭", attendance=12)
    problem = create(app, "sec1", "problem", title="垃圾池满了")
    rid = create(app, "sec1", "request", content="垃圾池满了没人清", resident_name=RESIDENT,
                 resident_contact=CONTACT, meeting_id=meeting, problem_id=problem, livelihood_project=True,
                 category="环境")
    # Both sides change the name from version 1: a conflict whose both values are personal data.
    edit(app, "cadre1", "request", rid, 1, resident_name="张三峰")
    edit(app, "sec1", "request", rid, 1, resident_name=RESIDENT)
    assert row(app, Request, rid).conflicts

    for username in ("staff1", "approver1", "admin"):
        client.post("/logout")
        login(client, username)
        pages = {
            "list": page(client, "/township/requests"),
            "record": page(client, f"/township/records/request/{rid}"),
            "meeting": page(client, f"/township/records/meeting/{meeting}"),
            "problem": page(client, f"/township/records/problem/{problem}"),
        }
        for name, html in pages.items():
            for secret in (RESIDENT, "张三峰", CONTACT, "张三"):
                assert secret not in html, (username, name, secret)
            assert "张**" in html, (username, name)
        for name in ("list", "record", "meeting"):
            assert "138****5678" in pages[name], (username, name)
        record = pages["record"]
        conflicts = record[record.index('id="conflicts"'):record.index('id="history"')]
        assert conflicts.count("张**") == 2
        assert all("张**" in entry for entry in history_entries(record))
        assert "138****5678" in history_entries(record)[0]

    listed = pages["list"]
    assert "tw-livelihood" in listed and "环境" in listed
    assert f'href="/township/records/meeting/{meeting}"' in listed and "党群议事亭茶话" in listed
    assert f'href="/township/records/problem/{problem}"' in listed
    assert f'href="/township/records/request/{rid}"' in pages["meeting"]
    assert f'href="/township/records/request/{rid}"' in pages["problem"]
    meetings = page(client, "/township/meetings")
    assert "党群议事亭茶话" in meetings and "村口凉亭" in meetings


# ---------------------------------------------------------------- verify and reopen

def test_township_staff_verifies_a_resolved_problem(client, app, world):
    pid = resolved_problem(app)
    login(client, "staff1")
    html = page(client, f"/township/records/problem/{pid}")
    assert f'action="/township/records/problem/{pid}/verify"' in html
    response = client.post(f"/township/records/problem/{pid}/verify", data={"version": "2"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/township/records/problem/{pid}")
    html = page(client, f"/township/records/problem/{pid}")
    assert flashes(html, "success")
    after = row(app, Problem, pid)
    assert after.status == "verified" and after.version == 3
    with app.app_context():
        logged = db.session.scalar(select(OpLog).where(OpLog.record_id == pid, OpLog.version == 3))
        assert logged.changes == {"status": "verified"} and logged.device_id is None and logged.base == 2
    assert "/verify" not in html                       # nothing left to verify
    last = history_entries(html)[-1]
    assert "staff1" in last and "Verified" in last and "on the web" in last


def test_verifying_an_open_problem_is_an_illegal_transition_and_changes_nothing(client, app, world):
    pid = create(app, "sec1", "problem", title="还没解决")
    login(client, "approver1")
    assert "/verify" not in page(client, f"/township/records/problem/{pid}")
    response = client.post(f"/township/records/problem/{pid}/verify", follow_redirects=True)
    errors = flashes(response.get_data(as_text=True), "error")
    assert errors == ["Not saved: the status cannot go from “Open” to “Verified”."]
    after = row(app, Problem, pid)
    assert after.status == "open" and after.version == 1
    with app.app_context():
        logged = db.session.scalar(select(OpLog).where(OpLog.record_id == pid, OpLog.status == "rejected"))
        assert logged.error_code == "illegal_transition"


def test_only_township_roles_verify(client, app, world):
    pid = resolved_problem(app)
    # A cadre never reaches the township form …
    login(client, "cadre1")
    response = client.post(f"/township/records/problem/{pid}/verify")
    assert response.status_code == 302 and "/township" not in response.headers["Location"]
    # … and an admin (who may look but not write records) is refused by the engine.
    client.post("/logout")
    login(client, "admin")
    assert "/verify" not in page(client, f"/township/records/problem/{pid}")
    html = client.post(f"/township/records/problem/{pid}/verify", follow_redirects=True).get_data(as_text=True)
    assert flashes(html, "error") == ["Not saved: your role may not make this change."]
    assert row(app, Problem, pid).status == "resolved"


def test_reopen_needs_a_reason(client, app, world):
    pid = resolved_problem(app)
    login(client, "staff1")
    assert f'action="/township/records/problem/{pid}/reopen"' in page(client, f"/township/records/problem/{pid}")
    html = client.post(f"/township/records/problem/{pid}/reopen", data={"reason": "  "},
                       follow_redirects=True).get_data(as_text=True)
    assert flashes(html, "error") == ["Not saved: reopening needs a reason."]
    assert row(app, Problem, pid).status == "resolved"

    html = client.post(f"/township/records/problem/{pid}/reopen", data={"reason": "回访发现又堵了", "version": "2"},
                       follow_redirects=True).get_data(as_text=True)
    assert flashes(html, "success")
    after = row(app, Problem, pid)
    assert after.status == "open" and after.reopen_reason == "回访发现又堵了"
    assert "回访发现又堵了" in history_entries(html)[-1]
    # An open problem has nothing to reopen.
    html = client.post(f"/township/records/problem/{pid}/reopen", data={"reason": "再来"},
                       follow_redirects=True).get_data(as_text=True)
    assert flashes(html, "info") and row(app, Problem, pid).version == after.version


def test_a_verified_problem_can_be_reopened(client, app, world):
    pid = resolved_problem(app)
    edit(app, "staff1", "problem", pid, 2, status="verified")
    login(client, "staff1")
    client.post(f"/township/records/problem/{pid}/reopen", data={"reason": "群众反映没修好"})
    assert row(app, Problem, pid).status == "open"


def test_an_action_on_a_record_changed_meanwhile_is_not_applied(client, app, world):
    pid = resolved_problem(app)
    login(client, "staff1")
    assert 'name="version" value="2"' in page(client, f"/township/records/problem/{pid}")
    # The secretary reopens it while the page is open …
    edit(app, "sec1", "problem", pid, 2, status="open", reopen_reason="还没好")
    # … so the township's verify, made on what it saw, is not applied blind.
    html = client.post(f"/township/records/problem/{pid}/verify", data={"version": "2"},
                       follow_redirects=True).get_data(as_text=True)
    assert flashes(html, "error")
    after = row(app, Problem, pid)
    assert after.status == "open" and after.version == 3


# ---------------------------------------------------------------- tasks

def task_form(**overrides):
    """The dispatch form (/township/dispatch, which took over from the form on /township/tasks) for one
    village, with an item of the county's list (the dispatch gate wants one, or a reason)."""
    data = {"mode": "list", "villages": ["V11"], "title": "办理老年优待证", "detail": "本周内摸排80岁以上老人",
            "due": f"{PAST_YEAR}-03-14", "assignee": "cadre1", "week": f"{PAST_YEAR}-W11", "item_code": "SX-042", "action": "send"}
    data.update(overrides)
    return data


def test_township_creates_a_task_through_the_op_log(client, app, world):
    login(client, "staff1")
    html = page(client, "/township/dispatch")
    assert 'name="villages" value="V11"' in html and 'value="V21"' not in html
    assert '<option value="cadre1"' in html and '<option value="sec12"' in html and "sec2" not in html

    response = client.post("/township/dispatch", data=task_form())
    assert response.status_code == 302
    with app.app_context():
        [task] = db.session.scalars(select(Task)).all()
        task_id = task.id
        staff = db.session.scalar(select(User).where(User.username == "staff1"))
        v11 = db.session.scalar(select(Unit).where(Unit.code == "V11"))
        assert (task.title, task.origin, task.status, task.assignee) == ("办理老年优待证", "township", "received", "cadre1")
        assert (task.unit_id, task.created_by, task.week, task.item_code) == (v11.id, staff.id, f"{PAST_YEAR}-W11", "SX-042")
        assert task.due == dt.date(PAST_YEAR, 3, 14)
        assert (task.gate, task.sent_on) == ("pending", None)     # it waits for the approver (the dispatch gate)
        logged = db.session.scalars(select(OpLog).where(OpLog.record_id == task_id)).all()
        assert len(logged) == 1
        assert (logged[0].type, logged[0].status, logged[0].user_id, logged[0].base) == ("task", "applied", staff.id, None)
        assert logged[0].unit_id == v11.id and logged[0].changes["title"] == "办理老年优待证"

    html = page(client, "/township/tasks")
    assert f'href="/township/records/task/{task_id}"' in html
    monday = dt.date.fromisocalendar(PAST_YEAR, 11, 1)
    week_shown = f"{monday:%b} {monday.day}"  # the week as its dates ("Mar 9 – Mar 15"), never "2026-W11"
    assert f"{PAST_YEAR}-W11" not in html
    for shown in ("SX-042", week_shown, f"{PAST_YEAR}-03-14", "cadre1", "Township"):
        assert shown in html


@pytest.mark.parametrize("overrides, message, logged", [
    # The form checks the assignee against the chosen village itself, at the field, before anything is sent.
    ({"assignee": "sec12"}, "“sec12” is not one of 一村", None),
    ({"villages": ["V21"], "assignee": ""}, "Not saved: choose a village in your area.", "rejected"),
    ({"title": "  "}, "Not saved: “Title” is required.", "rejected"),
    ({"week": "2025-13"}, "Not saved: the value of “Week” is not valid.", "rejected"),
])
def test_a_rejected_task_shows_why_and_creates_nothing(client, app, world, overrides, message, logged):
    login(client, "staff1")
    response = client.post("/township/dispatch", data=task_form(**overrides))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    with app.app_context():
        assert db.session.scalar(select(Task)) is None
        assert db.session.scalar(select(OpLog.status).where(OpLog.type == "task")) == logged


def test_admin_sees_tasks_but_does_not_create_them(client, app, world):
    create(app, "sec1", "task", title="村里自己的任务")
    login(client, "admin")
    html = page(client, "/township/tasks")
    assert "村里自己的任务" in html and 'id="new-dispatch"' not in html
    response = client.post("/township/dispatch", data=task_form())
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(Task).where(Task.origin == "township")) is None


def test_tasks_list_filters_by_status(client, app, world):
    done = create(app, "sec1", "task", title="已完成的任务")
    edit(app, "sec1", "task", done, 1, status="done", note="完成")
    create(app, "sec12", "task", title="进行中的任务")
    login(client, "staff1")
    html = page(client, "/township/tasks")
    assert html.index("进行中的任务") < html.index("已完成的任务")      # open tasks first
    html = page(client, "/township/tasks?status=done")
    assert "已完成的任务" in html and "进行中的任务" not in html


# ---------------------------------------------------------------- conflicts and history

def test_acknowledging_a_conflict_clears_the_mark(client, app, world):
    pid = conflicted_problem(app)
    login(client, "staff1")
    assert f'href="/township/records/problem/{pid}#conflicts"' in page(client, "/township/problems")

    html = page(client, f"/township/records/problem/{pid}")
    conflicts = html[html.index('id="conflicts"'):html.index('id="history"')]
    assert "书记的标题" in conflicts and "村干部的标题" in conflicts and "sec1" in conflicts
    assert conflicts.index("书记的标题") < conflicts.index("村干部的标题")      # kept, then not kept
    assert f'action="/township/records/problem/{pid}/ack"' in conflicts

    response = client.post(f"/township/records/problem/{pid}/ack", data={"version": "3"})
    assert response.status_code == 302
    after = row(app, Problem, pid)
    assert after.conflicts == [] and after.title == "书记的标题" and after.version == 4
    assert "tw-conflict" not in page(client, "/township/problems")
    html = page(client, f"/township/records/problem/{pid}")
    assert f"/township/records/problem/{pid}/ack" not in html
    # The value that lost is still in the history.
    assert "村干部的标题" in html[html.index('id="history"'):]


def test_acknowledging_with_a_stale_page_keeps_conflicts_not_yet_seen(client, app, world):
    pid = conflicted_problem(app)
    edit(app, "cadre1", "problem", pid, 2, detail="又一次")   # not a conflict, but a newer version
    login(client, "staff1")
    client.post(f"/township/records/problem/{pid}/ack", data={"version": "3"})
    assert row(app, Problem, pid).conflicts


def test_journal_conflicts_are_acknowledged_by_the_village(client, app, world):
    jid = create(app, "sec1", "journal", text="原文")
    edit(app, "sec1", "journal", jid, 1, text="村干部改的")  # the author's two phones, one offline
    edit(app, "sec1", "journal", jid, 1, text="书记改的")
    login(client, "staff1")
    listing = page(client, "/township/journals")
    assert f'href="/township/records/journal/{jid}"' in listing and "tw-conflict" in listing
    html = page(client, f"/township/records/journal/{jid}")
    assert "/ack" not in html and "书记改的" in html and "村干部改的" in html
    html = client.post(f"/township/records/journal/{jid}/ack", follow_redirects=True).get_data(as_text=True)
    assert flashes(html, "error") == ["Not saved: your role may not make this change."]
    assert row(app, Journal, jid).conflicts


def test_history_lists_who_changed_what_in_order(client, app, world):
    pid = create(app, "sec1", "problem", title="桥面裂缝", urgent=True)
    edit(app, "cadre1", "problem", pid, 1, detail="裂缝约两米", owner="cadre1")
    edit(app, "sec1", "problem", pid, 2, status="resolved", resolution="已修补")
    login(client, "staff1")
    client.post(f"/township/records/problem/{pid}/verify")
    html = page(client, f"/township/records/problem/{pid}")
    entries = history_entries(html)
    assert len(entries) == 4
    who = [re.search(r'<strong class="tw-who">(.*?)</strong>', e).group(1) for e in entries]
    assert who == ["sec1", "cadre1", "sec1", "staff1"]
    assert "Title" in entries[0] and "桥面裂缝" in entries[0] and "Urgent" in entries[0] and "Yes" in entries[0]
    assert "Detail" in entries[1] and "裂缝约两米" in entries[1] and "Owner" in entries[1]
    assert "Resolved" in entries[2] and "已修补" in entries[2] and "Resolution" in entries[2]
    assert "Verified" in entries[3]
    with app.app_context():
        first = db.session.scalars(select(OpLog).where(OpLog.record_id == pid).order_by(OpLog.received_at)).first()
        shanghai = (first.received_at + dt.timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    assert shanghai in entries[0]


def test_history_shows_the_phone_and_conflicts(client, app, world):
    token = client.post("/api/auth/token", json={"username": "sec1", "password": PASSWORD,
                                                 "device_name": "红米手机"}).get_json()
    pid = create(app, "cadre1", "problem", title="原标题")
    edit(app, "cadre1", "problem", pid, 1, title="村干部改")
    stale = op("problem", pid, 1, title="手机离线时改的")
    stale["at"] = f"{PAST_YEAR}-03-01T09:30:00+08:00"
    response = client.post("/api/sync", json={"device": token["device"], "cursor": None, "ops": [stale]},
                           headers={"Authorization": f"Bearer {token['token']}"})
    assert response.get_json()["results"][0]["status"] == "merged"
    login(client, "staff1")
    entries = history_entries(page(client, f"/township/records/problem/{pid}"))
    assert "红米手机" in entries[-1] and f"{PAST_YEAR}-03-01 09:30" in entries[-1]
    assert "tw-entry-conflict" in entries[-1] and "村干部改" in entries[-1]


def test_record_actions_need_a_csrf_token(app, world, database_url):
    pid = resolved_problem(app)
    protected = make_app(database_url, WTF_CSRF_ENABLED=True)
    client = protected.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"username": "staff1", "password": PASSWORD, "csrf_token": token})
    html = client.get(f"/township/records/problem/{pid}").get_data(as_text=True)
    client.post(f"/township/records/problem/{pid}/verify", data={"version": "2"})
    client.post("/township/tasks", data=task_form())
    with protected.app_context():
        assert db.session.get(Problem, pid).status == "resolved"
        assert db.session.scalar(select(Task)) is None
    form_token = re.search(r'<input type="hidden" name="csrf_token" value="([^"]+)">', html).group(1)
    client.post(f"/township/records/problem/{pid}/verify", data={"version": "2", "csrf_token": form_token})
    with protected.app_context():
        assert db.session.get(Problem, pid).status == "verified"
