"""The dispatch gate end to end, in Chromium: township staff dispatch through the form, the approver decides in
the queue, only the approved task reaches the phone, which works it offline, and the township sees it done."""
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.conftest import PASSWORD

from .conftest import answer_prompt, item, log_in, open_view, records, wait_controlled, wait_synced

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1366, "height": 768}, "locale": "zh-CN"}
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "zh-CN"}


def township_page(browser, server, username):
    page = browser.new_context(**DESKTOP).new_page()
    page.goto(f"{server}/login")
    page.fill("#login-form [name=username]", username)
    page.fill("#login-form [name=password]", PASSWORD)
    page.click("#login-form [type=submit]")
    page.wait_for_url(f"{server}/township/**")
    return page


def dispatch(page, server, title, village="V11", search=None, code=None, reason=None):
    page.goto(f"{server}/township/dispatch")
    if reason:
        page.check("#mode-offlist")
        page.fill("#offlist-reason", reason)
    else:
        page.fill("#item-q", search)
        page.locator(f"#item-results [data-code='{code}']").click()  # the list as the person types
        expect(page.locator("#item-code")).to_have_value(code)
        expect(page.locator("#item-card")).to_be_visible()
    page.fill("#task-title", title)
    page.check(f"#village-step [name=villages][value={village}]")
    page.click("#dispatch-send")
    page.wait_for_url(f"{server}/township/**")
    expect(page.locator(".flash, [role=alert]").first).to_be_visible()


def card(page, task):
    """The queue's card of the dispatch a task belongs to."""
    return page.locator(f"#dispatch-{task['dispatch_id']}")


def task_row(app, title):
    [row] = records(app, "Task", title=title)
    return row


def test_only_the_approved_task_reaches_the_phone_which_finishes_it_offline(browser, server, app):
    staff = township_page(browser, server, "staff1")
    dispatch(staff, server, "进山路口防火巡查", search="防火", code="SX-108")
    dispatch(staff, server, "统计电动自行车充电设施", reason="县消防大队冬季专项排查，清单里没有这一项")
    dispatch(staff, server, "森林防火再巡一次", search="SX-108", code="SX-108")
    first, offlist, again = (task_row(app, t) for t in ("进山路口防火巡查", "统计电动自行车充电设施", "森林防火再巡一次"))
    assert (first["gate"], first["item_name"], first["support_department"]) == ("pending", "森林防火巡查", "县林业局")
    assert offlist["gate"] == "pending" and offlist["item_code"] is None
    assert again["duplicate_of"] == first["id"]

    approver = township_page(browser, server, "approver1")
    approver.goto(f"{server}/township/approvals")
    # The duplicate is shown beside the task it repeats.
    repeated = card(approver, again)
    expect(repeated.locator(".tw-compare")).to_contain_text("进山路口防火巡查")
    card(approver, first).get_by_role("button", name="通过", exact=True).click()
    expect(approver.locator(".flash, [role=alert]").first).to_contain_text("通过")
    returned = card(approver, offlist)
    returned.locator("textarea[name=reason]").fill("请写明统计口径和上报时间")
    returned.get_by_role("button", name="退回修改").click()
    expect(card(approver, offlist)).to_have_count(0)
    assert task_row(app, "进山路口防火巡查")["gate"] == "approved"
    assert (task_row(app, "统计电动自行车充电设施")["gate"], task_row(app, "统计电动自行车充电设施")["gate_reason"]) \
        == ("returned", "请写明统计口径和上报时间")

    # The phone receives only the approved task.
    context = browser.new_context(**PHONE)
    phone = context.new_page()
    log_in(phone, server)
    wait_controlled(phone)
    wait_synced(phone)
    open_view(phone, "tasks")
    expect(phone.locator("#inbox-list .entry")).to_have_count(1)
    task = item(phone, "inbox", "进山路口防火巡查")
    expect(task).to_contain_text("《森林防火条例》第二十条")
    expect(phone.locator("#view-tasks")).not_to_contain_text("充电设施")
    expect(phone.locator("#view-tasks")).not_to_contain_text("再巡一次")

    # Offline: assign it to the cadre and mark it done.
    context.set_offline(True)
    phone.reload()
    open_view(phone, "tasks")
    task = item(phone, "inbox", "进山路口防火巡查")
    task.locator(".more > summary").click()
    task.locator("select[name=assignee]").select_option("cadre1")
    task.locator("form.assign [type=submit]").click()
    expect(task).to_contain_text("cadre1")
    task.locator("[data-move=done]").click()
    answer_prompt(phone, "三处路口已巡查，未发现火情")
    expect(task).to_have_attribute("data-state", "waiting")
    assert task_row(app, "进山路口防火巡查")["status"] == "received"  # nothing left the phone yet

    context.set_offline(False)
    with phone.expect_response(lambda r: r.url.endswith("/api/sync")):
        phone.click("#sync-now")
    wait_synced(phone)
    done = task_row(app, "进山路口防火巡查")
    assert (done["status"], done["assignee"], done["note"]) == ("done", "cadre1", "三处路口已巡查，未发现火情")

    # The township sees it done.
    staff.goto(f"{server}/township/tasks")
    expect(staff.locator(f"#task-{done['id']}")).to_contain_text("已完成")
    context.close()
