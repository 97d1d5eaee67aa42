"""Problems, the pavilion and tasks on the phone: made offline, linked, synced once; merges that lose nothing."""
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from .conftest import (answer_prompt, entry, fill_form, item, log_in, open_view, records, this_week,
                       township_task, wait_controlled, wait_synced, write_journal)

pytestmark = pytest.mark.browser


def test_offline_problem_request_and_task_arrive_linked(context, page, server, app):
    task_id = township_task(app, "排查独居老人的取暖情况", item_code="SX-042", week=this_week())
    log_in(page, server)
    wait_controlled(page)
    wait_synced(page)
    open_view(page, "tasks")
    task = item(page, "inbox", "排查独居老人")  # the township's tasks have their own inbox
    expect(task).to_have_attribute("data-state", "confirmed")

    context.set_offline(True)
    server.hits.clear()

    # A journal entry drafts a problem linked to it: the form opens with a short title and the entry as the
    # detail, and nothing is made until it is saved.
    open_view(page, "journal")
    write_journal(page, "村口水渠堵塞,雨天漫到路上\n下午和组长去现场看了")
    entry(page, "村口水渠堵塞").locator(".more > summary").click()  # a rare action: in the card's menu
    entry(page, "村口水渠堵塞").locator(".entry-problem").click()
    expect(page).to_have_url(re.compile(r"#problems$"))
    expect(page.locator("#problem-form [name=title]")).to_have_value("村口水渠堵塞,雨天漫到路上")
    expect(page.locator("#problem-form [name=detail]")).to_have_value("村口水渠堵塞,雨天漫到路上\n下午和组长去现场看了")
    expect(page.locator("#problem-list .entry")).to_have_count(0)
    page.click("#problem-form [type=submit]")
    from_journal = item(page, "problem", "村口水渠堵塞,雨天漫到路上")
    expect(from_journal).to_have_attribute("data-state", "waiting")
    expect(from_journal).to_have_attribute("data-status", "open")
    expect(from_journal.locator(".source")).to_be_visible()
    open_view(page, "journal")
    expect(entry(page, "村口水渠堵塞").locator(".entry-problem")).to_be_hidden()  # linked: not twice

    # A resident's request at the pavilion, then "make it a problem".
    open_view(page, "pavilion")
    page.click("[data-new=meeting]")
    fill_form(page, "meeting-form", topic="党群议事亭茶话会", place="议事亭", attendance=14)
    item(page, "meeting", "茶话会").locator(".add-request").click()
    fill_form(page, "request-form", content="希望在三组装两盏路灯", resident_name="张秀英",
              resident_contact="13812345678", category="基础设施")
    request = item(page, "request", "装两盏路灯")
    expect(request).to_have_attribute("data-status", "recorded")
    expect(request).to_contain_text("13812345678")  # the village's own phone sees it in full
    request.locator(".more > summary").click()
    request.locator(".to-problem").click()
    expect(page.locator("#problem-form [name=title]")).to_have_value("希望在三组装两盏路灯")
    page.click("#problem-form [type=submit]")
    open_view(page, "pavilion")
    expect(request).to_have_attribute("data-status", "accepted")
    expect(request.locator(".linked")).to_be_visible()
    expect(request.locator(".to-problem")).to_be_hidden()

    # The township's task, done with a completion note.
    open_view(page, "tasks")
    expect(task).to_contain_text("办理老年优待证")  # the item it names, from the county's list
    expect(task).to_contain_text("SX-042")
    task.locator("[data-move=done]").click()
    answer_prompt(page, "走访了12户独居老人,都有取暖设备")
    expect(task).to_have_attribute("data-status", "done")
    expect(task).to_have_attribute("data-state", "waiting")

    # This week's review is made from the same records.
    open_view(page, "week")
    expect(page.locator("#review-journals")).to_contain_text("村口水渠堵塞")
    expect(page.locator("#review-tasks")).to_contain_text("排查独居老人")

    page.reload()  # all of it is on the phone, nothing reached the server
    open_view(page, "problems")
    expect(page.locator("#problem-list .entry")).to_have_count(2)
    assert server.app_hits() == []
    assert records(app, "Problem") == []

    context.set_offline(False)
    for state in page.locator("#problem-list .entry").all():
        expect(state).to_have_attribute("data-state", "confirmed")
    open_view(page, "tasks")
    expect(task).to_have_attribute("data-state", "confirmed")
    open_view(page, "pavilion")
    expect(request).to_have_attribute("data-state", "confirmed")
    expect(page.locator("#sync-waiting")).not_to_have_class(re.compile("has-waiting"))

    [journal] = records(app, "Journal")
    problems = {p["source_type"]: p for p in records(app, "Problem")}
    assert set(problems) == {"journal", "request"}
    assert problems["journal"]["source_id"] == journal["id"]
    assert problems["journal"]["title"] == "村口水渠堵塞,雨天漫到路上"
    [meeting] = records(app, "Meeting")
    [req] = records(app, "Request")
    assert req["problem_id"] == problems["request"]["id"] and problems["request"]["source_id"] == req["id"]
    assert req["status"] == "accepted" and req["meeting_id"] == meeting["id"] and meeting["attendance"] == 14
    assert req["resident_contact"] == "13812345678"
    [done] = records(app, "Task", id=task_id)
    assert done["status"] == "done" and done["note"] == "走访了12户独居老人,都有取暖设备"
    assert done["origin"] == "township"


def test_problem_moves_offer_only_allowed_moves_and_ask_for_words(page, server, app):
    log_in(page, server)
    wait_synced(page)
    open_view(page, "problems")
    page.click("[data-new=problem]")
    fill_form(page, "problem-form", title="二组饮水管老化", urgent=True, category="基础设施")
    problem = item(page, "problem", "二组饮水管老化")
    expect(problem).to_have_attribute("data-state", "confirmed")
    expect(problem.locator(".badge-urgent")).to_be_visible()
    page.select_option("#problem-filter", "all")  # resolved problems leave the default "to do" list
    visible = lambda: sorted(b.get_attribute("data-move") for b in problem.locator("[data-move]:visible").all())  # noqa: E731
    assert visible() == ["in_progress", "resolved"]  # the moves of the schema, from "open"

    problem.locator("[data-move=in_progress]").click()
    expect(problem).to_have_attribute("data-status", "in_progress")
    # Each sync step redraws the item; a click whose press and release fall on either side of a redraw is lost.
    expect(problem).to_have_attribute("data-state", "confirmed")
    problem.locator("[data-move=resolved]").click()
    page.click("#prompt-form [type=submit]")  # empty: asked again, nothing saved
    expect(page.locator("#prompt-error")).to_be_visible()
    answer_prompt(page, "换了200米新管")
    expect(problem).to_have_attribute("data-status", "resolved")
    expect(problem).to_have_attribute("data-state", "confirmed")
    assert visible() == ["in_progress", "open"]  # reopening, either way; verifying is the township's
    problem.locator("[data-move=open]").click()
    answer_prompt(page, "又漏水了")
    expect(problem).to_have_attribute("data-status", "open")
    expect(problem).to_have_attribute("data-state", "confirmed")
    [row] = records(app, "Problem")
    assert (row["status"], row["resolution"], row["reopen_reason"], row["urgent"]) == ("open", "换了200米新管", "又漏水了", True)

    # The history (留痕) from the server; the last copy is kept for offline use.
    problem.locator(".more > summary").click()
    problem.locator(".entry-history").click()
    history = page.locator("#history")
    expect(history.locator("#history-list > li")).to_have_count(4)
    expect(history).to_contain_text("又漏水了")
    expect(page.locator("#history-note")).to_have_attribute("data-fresh", "true")
    page.click("#history-close")
    page.context.set_offline(True)
    problem.locator(".more > summary").click()
    problem.locator(".entry-history").click()
    expect(history.locator("#history-list > li")).to_have_count(4)
    expect(page.locator("#history-note")).to_have_attribute("data-fresh", "false")


def test_two_people_edit_the_same_problem_offline_and_lose_nothing(browser, server, app):
    phones = {}
    for name in ("sec1", "cadre1"):
        context = browser.new_context()
        page = context.new_page()
        log_in(page, server, name)
        wait_controlled(page)
        wait_synced(page)
        open_view(page, "problems")
        phones[name] = (context, page)
    (sec_ctx, sec), (cadre_ctx, cadre) = phones["sec1"], phones["cadre1"]

    sec.click("[data-new=problem]")
    fill_form(sec, "problem-form", title="垃圾池满溢")
    expect(item(sec, "problem", "垃圾池满溢")).to_have_attribute("data-state", "confirmed")
    cadre.click("#sync-now")
    expect(item(cadre, "problem", "垃圾池满溢")).to_have_attribute("data-state", "confirmed")

    sec_ctx.set_offline(True)
    cadre_ctx.set_offline(True)
    item(sec, "problem", "垃圾池满溢").locator(".more > summary").click()
    item(sec, "problem", "垃圾池满溢").locator(".entry-edit").click()
    fill_form(sec, "problem-form", title="垃圾池满溢,需要每周清运", category="环境整治")
    item(cadre, "problem", "垃圾池满溢").locator(".more > summary").click()
    item(cadre, "problem", "垃圾池满溢").locator(".entry-edit").click()
    fill_form(cadre, "problem-form", title="垃圾池满溢,志愿者轮流清理", owner="cadre1")

    sec_ctx.set_offline(False)
    expect(item(sec, "problem", "需要每周清运")).to_have_attribute("data-state", "confirmed")
    cadre_ctx.set_offline(False)
    merged = item(cadre, "problem", "志愿者轮流清理")
    expect(merged).to_have_attribute("data-state", "confirmed")
    sec.click("#sync-now")
    mine = item(sec, "problem", "志愿者轮流清理")  # the later arrival's title, on both phones
    expect(mine).to_have_attribute("data-state", "confirmed")
    for problem in (mine, merged):
        expect(problem).to_contain_text("环境整治")  # each one's other field is kept
        expect(problem).to_contain_text("cadre1")
        expect(problem.locator(".badge-conflict")).to_be_visible()
        expect(problem.locator(".conflict")).to_contain_text("需要每周清运")  # the value that lost, shown
    [row] = records(app, "Problem")
    assert row["title"] == "垃圾池满溢,志愿者轮流清理" and row["category"] == "环境整治" and row["owner"] == "cadre1"
    assert len(row["conflicts"]) == 1

    mine.locator(".conflict-ack").click()
    expect(mine.locator(".badge-conflict")).to_be_hidden()
    expect(mine).to_have_attribute("data-state", "confirmed")
    cadre.click("#sync-now")
    wait_synced(cadre)
    expect(merged.locator(".badge-conflict")).to_be_hidden()
    expect(merged.locator(".conflict")).to_be_hidden()
    [row] = records(app, "Problem")
    assert row["conflicts"] == [] and row["title"] == "垃圾池满溢,志愿者轮流清理"
    mine.locator(".more > summary").click()
    mine.locator(".entry-history").click()  # the acknowledgement is in the history, said as such
    ack = sec.locator("#history-list > li.h-ack")
    expect(ack).to_have_count(1)
    expect(ack.locator(".h-changes li")).to_have_count(1)
    for context in (sec_ctx, cadre_ctx):
        context.close()


def test_own_plan_item_defaults_to_this_week_and_shows_in_mondays_plan(page, server, app):
    log_in(page, server)
    wait_synced(page)
    open_view(page, "tasks")
    page.click("[data-new=task]")
    expect(page.locator("#task-form [name=week]")).to_have_value(this_week())
    fill_form(page, "task-form", title="组织志愿者清理河道", assignee="cadre1")
    task = item(page, "task", "清理河道")
    expect(task).to_have_attribute("data-state", "confirmed")
    [row] = records(app, "Task")
    assert (row["week"], row["origin"], row["assignee"], row["status"]) == (this_week(), "village", "cadre1", "received")
    open_view(page, "week")
    expect(page.locator("#plan-tasks")).to_contain_text("清理河道")

    open_view(page, "pavilion")
    page.click("[data-new=request]")
    fill_form(page, "request-form", content="老年食堂的菜太咸")
    request = item(page, "request", "老年食堂")
    expect(request).to_have_attribute("data-state", "confirmed")  # synced: no redraw under the next click
    request.locator(".more > summary").click()
    request.locator(".livelihood").click()
    expect(request.locator(".badge-livelihood")).to_be_visible()
    expect(request).to_have_attribute("data-state", "confirmed")
    request.locator("[data-move=answered]").click()
    answer_prompt(page, "已和食堂商量少放盐")
    expect(request).to_have_attribute("data-status", "answered")
    expect(request).to_have_attribute("data-state", "confirmed")
    [row] = records(app, "Request")
    assert row["reply"] == "已和食堂商量少放盐" and row["replied_on"] is not None and row["livelihood_project"] is True
    open_view(page, "week")
    expect(page.locator("#review-requests")).to_contain_text("老年食堂")


def test_friday_review_counts_by_when_the_server_saw_the_task_done(page, server, app):
    """A task done ten days ago (server time) but changed since is not this week's work; one done today is."""
    import datetime as dt
    import uuid

    from sqlalchemy import update

    from app.extensions import db
    from app.models import Task, User, utcnow
    from app.sync_service import submit

    ids = {title: township_task(app, title, item_code=code, week=this_week())
           for title, code in (("今天完成的排查", "SX-108"), ("十天前完成的排查", "SX-101"))}
    with app.app_context():
        sec = db.session.scalar(select(User).where(User.username == "sec1"))
        results = submit(sec, [{"op": str(uuid.uuid4()), "type": "task", "id": record_id, "base": 2,  # sent, approved
                                "set": {"status": "done", "note": "已完成"}} for record_id in ids.values()])
        assert [r["status"] for r in results] == ["applied", "applied"], results
        db.session.execute(update(Task).where(Task.id == ids["十天前完成的排查"])
                           .values(done_at=utcnow() - dt.timedelta(days=10)))
        db.session.commit()
    log_in(page, server)
    wait_synced(page)
    open_view(page, "week")
    expect(page.locator("#review-tasks")).to_contain_text("今天完成的排查")
    expect(page.locator("#review-tasks")).not_to_contain_text("十天前完成的排查")


def test_rejected_move_shows_the_reason_and_can_be_discarded(context, page, server, app):
    log_in(page, server)
    wait_synced(page)
    open_view(page, "problems")
    page.click("[data-new=problem]")
    fill_form(page, "problem-form", title="桥栏杆松动")
    problem = item(page, "problem", "桥栏杆松动")
    expect(problem).to_have_attribute("data-state", "confirmed")

    def reject(route):  # as if the server refused the move (e.g. someone else moved it meanwhile)
        body = route.request.post_data_json
        route.fulfill(json={"results": [{"op": op["op"], "status": "rejected", "error": {
            "code": "illegal_transition", "message": "status cannot move"}} for op in body["ops"]],
            "changes": [], "cursor": body["cursor"], "more": False})

    context.route("**/api/sync", reject)
    problem.locator("[data-move=in_progress]").click()
    expect(problem).to_have_attribute("data-state", "rejected")
    expect(problem.locator(".entry-error")).to_be_visible()
    expect(problem.locator("[data-move]:visible")).to_have_count(0)  # fix it first
    context.unroute("**/api/sync")
    problem.locator(".entry-discard").click()
    expect(page.locator("#confirm-text")).to_contain_text("桥栏杆松动")  # asked first, naming what goes
    page.click("#confirm-yes")
    expect(problem).to_have_attribute("data-state", "confirmed")
    expect(problem).to_have_attribute("data-status", "open")
    expect(problem.locator("[data-move=in_progress]")).to_be_visible()
    [row] = records(app, "Problem")
    assert row["status"] == "open"
