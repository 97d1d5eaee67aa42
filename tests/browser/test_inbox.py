"""The village's one inbox for township tasks (乡镇派单) on the phone: only approved tasks arrive, with their
item, basis and department, offline; the secretary assigns, flags and finishes them; the cadre sees theirs."""
import datetime as dt
import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from sync.types import shanghai_today

from .conftest import answer_prompt, item, log_in, open_view, records, township_task, wait_controlled, wait_synced

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "zh-CN"}
NO_OVERFLOW = "() => document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, **PHONE}


def submit_as(app, username, ops):
    from app.models import User
    from app.sync_service import submit
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        return submit(user, [{"op": str(uuid.uuid4()), **op} for op in ops])


def withdraw(app, task_id, base=2):
    [result] = submit_as(app, "approver1", [{"type": "task", "id": task_id, "base": base,
                                             "set": {"gate": "withdrawn", "gate_reason": "镇里已另行安排"}}])
    assert result["status"] == "applied", result


def inbox(page, text):
    return item(page, "inbox", text)


def open_menu(card):
    card.locator(".more > summary").click()
    expect(card.locator(".more-body")).to_be_visible()


def test_approved_tasks_reach_the_inbox_and_the_answers_go_back(browser, context, page, server, app,
                                                                browser_context_args):
    due = (dt.date.fromisoformat(shanghai_today()) + dt.timedelta(days=7)).isoformat()
    heating = township_task(app, "排查独居老人的取暖情况", item_code="SX-042", due=due, detail="逐户登记取暖设备")
    river = township_task(app, "清理河道两岸垃圾", item_code="SX-101")
    patrol = township_task(app, "进山路口防火巡查", item_code="SX-108", support_department="镇林业站")
    township_task(app, "防汛物资清点", offlist_reason="汛期临时安排,清单里没有这一项", approve=False)
    gone = township_task(app, "统计外出务工人员", offlist_reason="县里临时要的数字,清单里没有")
    withdraw(app, gone)
    [own] = submit_as(app, "sec1", [{"type": "task", "id": str(uuid.uuid4()), "base": None,
                                     "set": {"title": "组织志愿者清扫村道"}}])
    assert own["status"] == "applied", own

    log_in(page, server)
    wait_controlled(page)
    wait_synced(page)
    open_view(page, "tasks")

    # Only approved tasks arrive, in one place above the village's own plan.
    expect(page.locator("#inbox-list .entry")).to_have_count(4)
    expect(page.locator("#view-tasks")).not_to_contain_text("防汛物资清点")  # still pending: not here
    expect(page.locator("#task-list .entry")).to_have_count(1)
    expect(item(page, "task", "组织志愿者清扫村道")).to_be_visible()
    assert page.locator("#inbox-list").bounding_box()["y"] < page.locator("#task-list").bounding_box()["y"]

    card = inbox(page, "排查独居老人")
    for text in ("SX-042", "办理老年优待证", "《老年人权益保障法》第五十七条", "县民政局", due, shanghai_today(),
                 "逐户登记取暖设备"):
        expect(card).to_contain_text(text)
    expect(inbox(page, "进山路口防火巡查")).to_contain_text("镇林业站")  # the township's choice of department
    expect(inbox(page, "统计外出务工人员")).to_contain_text("县里临时要的数字")  # an off-list task says why

    # Compact: one button per card, the rare actions in a small menu; nothing wider than the phone.
    expect(card.locator("button:visible")).to_have_count(1)
    expect(card.locator("[data-move=done]")).to_be_visible()
    expect(card.locator(".more > summary")).to_be_visible()
    assert page.evaluate(NO_OVERFLOW)
    assert card.locator(".more > summary").bounding_box()["height"] >= 44

    # The withdrawn task: greyed out, said so, and nothing to do on it.
    withdrawn = inbox(page, "统计外出务工人员")
    expect(withdrawn).to_have_attribute("data-gate", "withdrawn")
    expect(withdrawn.locator(".badge-withdrawn")).to_be_visible()
    expect(withdrawn.locator("button:visible")).to_have_count(0)
    expect(withdrawn.locator(".more")).to_be_hidden()
    expect(page.locator("#inbox-list .entry").last).to_have_attribute("data-gate", "withdrawn")  # at the end

    # Offline, after a reload, everything is still there.
    context.set_offline(True)
    server.hits.clear()
    page.reload()
    open_view(page, "tasks")
    expect(page.locator("#inbox-list .entry")).to_have_count(4)
    for text in ("办理老年优待证", "《老年人权益保障法》第五十七条", "县民政局", due):
        expect(card).to_contain_text(text)

    # Assign it to the cadre.
    open_menu(card)
    expect(card.locator(".assign")).to_be_visible()
    card.locator(".assign select").select_option("cadre1")
    card.locator(".assign [type=submit]").click()
    expect(card).to_have_attribute("data-state", "waiting")
    expect(card.locator(".facts")).to_contain_text("cadre1")
    expect(card.locator(".more-body")).to_be_hidden()  # the menu closes once it has done its thing

    # Flag another one: too much burden, with a note.
    flagged = inbox(page, "清理河道")
    open_menu(flagged)
    flagged.locator(".flag-open").click()
    dialog = page.locator("#flag")
    expect(dialog).to_be_visible()
    dialog.locator("[type=submit]").click()  # nothing chosen: asked again, nothing saved
    expect(page.locator("#flag-error")).to_be_visible()
    dialog.locator("[name=flag][value=burden]").check()
    dialog.locator("[name=flag_note]").fill("两岸三公里,村里只有两个保洁员,需要镇里派车")
    dialog.locator("[type=submit]").click()
    expect(dialog).to_be_hidden()
    expect(flagged).to_have_attribute("data-flag", "burden")
    expect(flagged.locator(".task-flag")).to_be_visible()
    expect(flagged.locator(".task-flag")).to_contain_text("两岸三公里")
    expect(flagged).to_have_attribute("data-state", "waiting")

    # Finish the third with a completion note.
    done = inbox(page, "防火巡查")
    done.locator("[data-move=done]").click()
    answer_prompt(page, "巡查了三个进山路口,设了警示牌")
    expect(done).to_have_attribute("data-status", "done")
    expect(done).to_contain_text("设了警示牌")
    expect(done.locator("[data-move=done]")).to_be_hidden()
    assert [hit for hit in server.hits if "/api/" in hit] == []  # (the browser may still check for a new sw.js)
    [row] = records(app, "Task", id=heating)
    assert row["assignee"] is None  # nothing has left the phone yet

    context.set_offline(False)
    for task in (card, flagged, done):
        expect(task).to_have_attribute("data-state", "confirmed")
    [row] = records(app, "Task", id=heating)
    assert row["assignee"] == "cadre1" and row["gate"] == "approved"
    [row] = records(app, "Task", id=river)
    assert (row["flag"], row["flag_note"]) == ("burden", "两岸三公里,村里只有两个保洁员,需要镇里派车")
    [row] = records(app, "Task", id=patrol)
    assert (row["status"], row["note"]) == ("done", "巡查了三个进山路口,设了警示牌")

    # The approver's answer comes back in the task's comment thread.
    [answer] = submit_as(app, "approver1", [{"type": "review", "id": str(uuid.uuid4()), "base": None, "set": {
        "target_type": "task", "target_id": river, "comment": "已协调镇环卫所周三派车支援"}}])
    assert answer["status"] == "applied", answer
    page.click("#sync-now")
    wait_synced(page)
    strip = flagged.locator(".reviews")
    expect(strip).to_be_visible()
    expect(strip.locator(".review-last")).to_have_text("已协调镇环卫所周三派车支援")
    strip.click()
    expect(page.locator("#thread-list")).to_contain_text("已协调镇环卫所周三派车支援")
    page.click("#thread-close")

    # The cadre, on their own phone, sees the task assigned to them (and cannot hand it on).
    cadre_context = browser.new_context(**browser_context_args)
    cadre = cadre_context.new_page()
    log_in(cadre, server, "cadre1")
    wait_synced(cadre)
    open_view(cadre, "tasks")
    mine = inbox(cadre, "排查独居老人")
    expect(mine.locator(".badge-mine")).to_be_visible()
    expect(mine).to_have_attribute("data-state", "confirmed")
    expect(cadre.locator("#inbox-list .entry").first).to_contain_text("排查独居老人")  # mine come first
    expect(inbox(cadre, "清理河道").locator(".badge-mine")).to_be_hidden()
    open_menu(mine)
    expect(mine.locator(".assign")).to_be_hidden()
    cadre_context.close()


def test_a_task_withdrawn_while_the_phone_was_offline(context, page, server, app):
    """The flag written offline is refused with the reason; the card shows the task as withdrawn at once."""
    task_id = township_task(app, "上报秸秆禁烧台账", item_code="SX-101")
    log_in(page, server)
    wait_controlled(page)
    wait_synced(page)
    open_view(page, "tasks")
    card = inbox(page, "秸秆禁烧")
    expect(card).to_have_attribute("data-state", "confirmed")

    # A flag can be taken back.
    open_menu(card)
    card.locator(".flag-open").click()
    page.locator("#flag [name=flag][value=unclear]").check()
    page.locator("#flag [name=flag_note]").fill("不知道要报哪几个月的")
    page.locator("#flag [type=submit]").click()
    expect(card).to_have_attribute("data-flag", "unclear")
    expect(card).to_have_attribute("data-state", "confirmed")
    open_menu(card)
    card.locator(".flag-open").click()
    expect(page.locator("#flag [name=flag][value=unclear]")).to_be_checked()
    page.click("#flag-clear")
    expect(card).to_have_attribute("data-flag", "")
    expect(card).to_have_attribute("data-state", "confirmed")
    [row] = records(app, "Task", id=task_id)
    assert row["flag"] is None and row["flag_note"] is None

    context.set_offline(True)
    open_menu(card)
    card.locator(".flag-open").click()
    page.locator("#flag [name=flag][value=duplicate]").check()
    page.locator("#flag [name=flag_note]").fill("上个月已经报过一次")
    page.locator("#flag [type=submit]").click()
    expect(card).to_have_attribute("data-flag", "duplicate")
    withdraw(app, task_id, base=4)  # sent, approved, flagged, unflagged

    context.set_offline(False)
    expect(card).to_have_attribute("data-state", "rejected")
    expect(card).to_have_attribute("data-gate", "withdrawn")
    expect(card.locator(".badge-withdrawn")).to_be_visible()
    expect(card.locator(".entry-error")).to_be_visible()
    expect(card.locator(".more")).to_be_hidden()
    expect(card.locator("button:visible")).to_have_count(1)  # only: discard my change
    card.locator(".entry-discard").click()
    page.click("#confirm-yes")
    expect(card).to_have_attribute("data-state", "confirmed")
    expect(card).to_have_attribute("data-flag", "")
    expect(card.locator("button:visible")).to_have_count(0)
    [row] = records(app, "Task", id=task_id)
    assert row["gate"] == "withdrawn" and row["flag"] is None
