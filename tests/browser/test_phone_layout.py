"""The phone at 360×740: the journal's save button on the first screen, tabs that fit, compact cards with a
menu for their rare actions, the tasks in the order they are worked on, and logging out without signal."""
import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db

from .conftest import entry, item, log_in, open_view, this_week, wait_controlled, wait_synced, write_journal
from .test_shared_phone import IDB_DUMP, shared, string

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "locale": "zh-CN"}
# A box read in one step (a redraw may replace the element between two reads).
BOX = "(selector) => document.querySelector(selector).getBoundingClientRect().toJSON()"
HEIGHTS = "(elements) => elements.map((el) => el.getBoundingClientRect().height)"


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, **PHONE}


def in_language(page, server, lang: str) -> None:
    page.goto(f"{server}/lang/{lang}?next=/login")


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_save_is_on_the_first_screen(page, server, lang):
    in_language(page, server, lang)
    log_in(page, server)
    wait_synced(page)
    expect(page.locator("#journal-save")).to_be_visible()
    assert page.evaluate("() => window.scrollY") == 0
    box = page.evaluate(BOX, "#journal-form [type=submit]")
    assert box["top"] >= 0 and box["bottom"] <= 740, box
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    # The header is one slim row, the sync bar one line with its button.
    assert page.evaluate(BOX, ".topbar")["height"] <= 56
    assert page.evaluate(BOX, ".syncbar")["height"] <= 60


def test_english_tabs_fit_on_one_line(page, server):
    in_language(page, server, "en")
    log_in(page, server)
    wait_synced(page)
    tabs = page.locator("#tabs a")
    expect(tabs).to_have_count(5)
    sizes = tabs.evaluate_all("""(tabs) => tabs.map((a) => {
      const r = a.getBoundingClientRect();
      const range = document.createRange();
      range.selectNodeContents(a);
      return { text: a.textContent.trim(), lines: range.getClientRects().length, scroll: a.scrollWidth,
               client: a.clientWidth, right: r.right, height: r.height };
    })""")
    assert [s["text"] for s in sizes] == ["Journal", "Problems", "Pavilion", "Tasks", "Week"]
    for size in sizes:
        assert size["lines"] == 1 and size["scroll"] <= size["client"], size  # no word broken, none cut
        assert size["right"] <= 360 and size["height"] >= 44, size


def confirmed_journal(page, server, text: str):
    """Logged in, a journal entry written and confirmed by the server; its card."""
    log_in(page, server)
    wait_synced(page)
    write_journal(page, text)
    card = entry(page, text)
    expect(card).to_have_attribute("data-state", "confirmed")
    return card


def test_a_journal_becomes_a_problem_through_its_menu(page, server):
    card = confirmed_journal(page, server, "村口水渠堵塞，雨天漫到路上")
    expect(card.locator(".entry-edit")).to_be_visible()  # the common action stays on the card
    expect(card.locator(".entry-problem")).to_be_hidden()  # the rare one waits in the menu
    card.locator(".more > summary").click()
    expect(card.locator(".entry-problem")).to_be_visible()
    card.locator(".entry-problem").click()
    expect(page.locator("#problem-form [name=title]")).to_have_value("村口水渠堵塞，雨天漫到路上")
    page.click("#problem-form [type=submit]")
    expect(item(page, "problem", "村口水渠堵塞")).to_be_visible()
    open_view(page, "journal")
    expect(card).to_contain_text(string(page, "madeProblem"))


def test_the_menu_works_with_the_keyboard_and_closes_elsewhere(page, server):
    card = confirmed_journal(page, server, "走访独居老人")
    summary = card.locator(".more > summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(card.locator(".entry-history")).to_be_visible()
    page.keyboard.press("Escape")
    expect(card.locator(".entry-history")).to_be_hidden()
    expect(summary).to_be_focused()
    summary.click()
    expect(card.locator(".more-body")).to_be_visible()
    page.click("#list-title")  # a tap elsewhere closes it
    expect(card.locator(".more-body")).to_be_hidden()


def shanghai_today() -> dt.date:
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


def week_of(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def written(app, kind: str, then: dict | None = None, **fields) -> str:
    """A record of the village written by its secretary through the server's one write path (and `then`, a
    second change of it)."""
    from app.models import User
    from app.sync_service import submit
    record_id = str(uuid.uuid4())
    ops = [{"op": str(uuid.uuid4()), "type": kind, "id": record_id, "base": None, "unit": "V11", "set": fields}]
    if then:
        ops.append({"op": str(uuid.uuid4()), "type": kind, "id": record_id, "base": 1, "set": then})
    with app.app_context():
        sec = db.session.scalar(select(User).where(User.username == "sec1"))
        results = submit(sec, ops)
        assert all(r["status"] == "applied" for r in results), results
    return record_id


def plan_item(app, title: str, done: str | None = None, **fields) -> str:
    return written(app, "task", then=done and {"status": "done", "note": done}, title=title, **fields)


def test_twelve_journals_make_a_short_page(page, server, app):
    text = "上午到三组走访了低收入家庭，了解就医和孩子上学的困难；下午和村两委商量垃圾池的清运办法。"  # as the demo's
    today = shanghai_today()
    for n in range(12):
        written(app, "journal", text=f"第{n}篇：{text}", visits=3, places="三组、村委会",
                date=(today - dt.timedelta(days=n)).isoformat())
    log_in(page, server)
    wait_synced(page)
    expect(page.locator("#journal-list .entry")).to_have_count(12)
    height = page.evaluate("() => document.documentElement.scrollHeight")
    assert height < 4476 * 0.6, height  # it was 4,476 px
    cards = page.locator("#journal-list .entry").evaluate_all(HEIGHTS)
    assert max(cards) < 170, cards  # it was 373 px a card


def test_open_tasks_come_first_by_due_date_and_mondays_plan_lists_the_weeks(page, server, app):
    today = shanghai_today()
    later = today + dt.timedelta(days=21)
    plan_item(app, "稍后到期的任务", due=later.isoformat(), week=week_of(later))
    plan_item(app, "今天到期的任务", due=today.isoformat())
    plan_item(app, "已经完成的任务", due=(today - dt.timedelta(days=1)).isoformat(), done="办好了")
    plan_item(app, "没有期限的任务", week=this_week())
    plan_item(app, "逾期未办的任务", due=(today - dt.timedelta(days=10)).isoformat(),
              week=week_of(today - dt.timedelta(days=10)))
    plan_item(app, "下周才做的任务", week=week_of(today + dt.timedelta(days=7)))
    log_in(page, server)
    wait_synced(page)

    open_view(page, "tasks")
    titles = page.locator("#task-list .entry .entry-title")
    expect(titles).to_have_text(["逾期未办的任务", "今天到期的任务", "稍后到期的任务", "没有期限的任务",
                                 "下周才做的任务", "已经完成的任务"])

    open_view(page, "week")
    plan = page.locator("#plan-tasks li .l-main")
    expect(plan).to_have_text(["逾期未办的任务", "今天到期的任务", "没有期限的任务"])
    expect(page.locator("#plan-tasks li", has_text="逾期未办的任务")).to_contain_text(string(page, "overdue"))


def test_logging_out_without_signal_says_so_on_the_page(context, page, server, app):
    log_in(page, server)
    wait_controlled(page)
    wait_synced(page)
    context.route("**/api/sync", lambda route: route.abort())
    write_journal(page, "没信号时写的日志")
    expect(page.locator("#sync-waiting")).to_contain_text("1")
    context.set_offline(True)

    page.click("#account-menu > summary")
    page.click("#logout")
    expect(page.locator("#confirm")).to_contain_text(string(page, "logoutOffline"))
    page.click("#confirm-yes")
    message = page.locator("#signed-out")
    expect(message).to_be_visible()
    assert page.url == f"{server}/field"  # the page stayed: no navigation the service worker cannot serve
    expect(message).to_contain_text("再次登录需要网络连接")
    expect(message.locator("#signed-out-kept")).to_contain_text("1")  # the entry not sent yet stays
    expect(page.locator("#field-body")).to_be_hidden()
    expect(page.locator("#account")).to_be_hidden()
    assert "session" not in shared(page)
    assert len(shared(page)["pendingLogouts"]) == 1
    [user_db] = [name for name in page.evaluate(IDB_DUMP) if name != "zhucun"]
    assert [r["fields"]["text"] for _, r in page.evaluate(IDB_DUMP)[user_db]["records"]] == ["没信号时写的日志"]

    # The connection comes back: the page revokes the device by itself.
    with page.expect_response(lambda response: response.url.endswith("/api/auth/logout")) as logout:
        context.set_offline(False)
    assert logout.value.status == 200
    page.wait_for_function(f"async () => !('pendingLogouts' in Object.fromEntries((await ({IDB_DUMP})()).zhucun.kv))")
