"""The phone's side of the reports, offline from the replica: the month's 驻村纪实 says what the township's record
of the same month says, and Friday's review in words is the weekly report's opening paragraph."""
import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import Journal, Problem, Request, Task, Unit
from app.reports.figures import Week
from app.reports.summary import weekly_summary
from tests.conftest import PASSWORD
from tests.test_monthly import shift, submit
from tests.test_reports import op

from .conftest import log_in, open_view, synced_then_offline, wait_synced

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "locale": "zh-CN"}
BEIJING = ZoneInfo("Asia/Shanghai")
PHONE_FIGURES = """() => Object.fromEntries([...document.querySelectorAll('#month-figures [data-figure]')]
  .map((td) => [td.dataset.figure, Number(td.textContent)]))"""


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, **PHONE}


def at(day: dt.date, time: str) -> dt.datetime:
    """A naive UTC moment, as the server stores them."""
    return dt.datetime.combine(day, dt.time.fromisoformat(time))


@pytest.fixture
def last_month(app, world):
    """Last month's work in 一村 (V11), with this week's beside it; returns last month as 2026-11."""
    today = dt.datetime.now(BEIJING).date()
    first = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    last, before = today.replace(day=1) - dt.timedelta(days=1), first - dt.timedelta(days=1)

    def journal(username, day, text, visits=None, places=None):
        [jid] = submit(app, username, op("journal", text=text, visits=visits, places=places))
        shift(app, Journal, jid, date=day)
        return jid

    journal("sec1", first, "月初走访一组", 3, "一组")
    journal("cadre1", first, "村干部也写了一篇", 2)
    journal("sec1", first + dt.timedelta(days=14), "召开院坝会", 4, "二组院坝")
    journal("cadre1", first + dt.timedelta(days=19), "村干部独自走访", 1)  # listed, but no day of the residency
    journal("sec1", last, "月末整理台账")
    journal("sec1", before, "上个月的最后一天", 5)
    this_week = journal("sec1", today, "本周走访两户", 2)
    # The month's edge in Beijing time: 16:30Z on the day before its 1st is 00:30 on the 1st in Beijing.
    for when, title in ((at(before, "16:30"), "水渠堵了"), (at(before, "15:59"), "更早的问题"),
                        (at(last, "16:30"), "下个月才解决的问题")):
        [pid] = submit(app, "sec1", op("problem", title=title))
        submit(app, "sec1", op("problem", pid, base=1, status="resolved", resolution=f"{title}已解决"))
        shift(app, Problem, pid, resolved_at=when)
    submit(app, "sec1", op("problem", title="村口路灯坏了", urgent=True))
    answered, _waiting = submit(app, "sec1", op("request", content="修村道"), op("request", content="还没答复的诉求"))
    submit(app, "sec1", op("request", answered, base=1, status="answered", reply="已列入计划"))
    shift(app, Request, answered, answered_at=at(first + dt.timedelta(days=9), "02:00"))
    [dispatched] = submit(app, "staff1", op("task", unit="V11", title="优待证", item_code="SX-042"))
    submit(app, "approver1", op("task", dispatched, base=1, gate="approved"))
    submit(app, "sec1", op("task", dispatched, base=2, status="done", note="已办好三张"))
    [own] = submit(app, "sec1", op("task", title="自己的计划"))
    submit(app, "sec1", op("task", own, base=1, status="done", note="完成"))
    shift(app, Task, dispatched, done_at=at(first + dt.timedelta(days=19), "08:00"))
    shift(app, Task, own, done_at=at(last + dt.timedelta(days=1), "01:00"))  # 09:00 on the 1st: this month's
    # This week the township asked twice for follow-up; the village answered once.
    asked, _unanswered = submit(app, "staff1", op("review", target_type="journal", target_id=this_week,
                                                  comment="请补充走访户的情况", decision="follow_up"),
                                op("review", target_type="journal", target_id=this_week,
                                   comment="下周把院坝会的照片\n也传上来", decision="follow_up"))
    submit(app, "sec1", op("review", target_type="journal", target_id=this_week, comment="已补充", reply_to=asked))
    return f"{first.year}-{first.month:02d}"


def township_page(app, path: str) -> str:
    """A page as the township's staff1 sees it (the app has CSRF on, as it runs for real)."""
    client = app.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"username": "staff1", "password": PASSWORD,
                                       "csrf_token": token[1]}).status_code == 302
    return client.get(path).get_data(as_text=True)


def test_the_phones_month_and_friday_words_offline_equal_the_townships(context, page, app, server, last_month):
    html = township_page(app, f"/reports/monthly?village=V11&month={last_month}")
    figures = {name: int(n) for name, n in re.findall(r'data-figure="(\w+)">(\d+)<', html)}
    assert figures == {"days_in_village": 3, "journals": 5, "visits": 10, "problems_resolved": 1,
                       "requests_answered": 1, "tasks_done": 1}
    days = re.search(r'id="days-in-village">([^<]+)<', html)[1]
    journal_ids = re.findall(r'id="journal-([0-9a-f-]+)"', html)
    with app.test_request_context("/"):  # zh_CN, the default language
        village = db.session.scalar(select(Unit).where(Unit.code == "V11"))
        words = "".join(weekly_summary([village], Week.parse(None)))
    assert "紧急" in words and "跟进" in words and "等待答复" in words, words

    synced_then_offline(context, page, server)
    open_view(page, "week")
    expect(page.locator("#review-words")).to_have_text(words)
    expect(page.locator("#month-next")).to_be_hidden()  # this month: none to come
    page.click("#month-prev")
    expect(page.locator("#month-record")).to_have_attribute("data-month", last_month)
    expect(page.locator("#month-days")).to_have_text(days)
    assert page.evaluate(PHONE_FIGURES) == figures
    assert page.locator("#month-journals li").evaluate_all("(items) => items.map((li) => li.dataset.id)") == journal_ids
    expect(page.locator("#month-journals li").nth(1)).to_contain_text("cadre1")
    expect(page.locator("#month-journals li").first).to_contain_text("走访 3 户 · 地点：一组")
    expect(page.locator("#month-online")).to_have_attribute("href", f"/reports/monthly?month={last_month}")
    assert server.app_hits() == [], "offline: the month and the review come from the phone's records"


def test_friday_words_in_english_take_the_servers_plural_forms(page, app, server, world):
    [jid] = submit(app, "sec1", op("journal", text="Visited one household", visits=1))
    submit(app, "sec1", op("problem", title="Broken lamp", urgent=True),
           op("problem", title="Flooded lane", urgent=True),
           op("request", content="Fix the road"), op("request", content="A bus stop"))
    [asked] = submit(app, "staff1", op("review", target_type="journal", target_id=jid, comment="Add the household's "
                                       "situation, please, with the names of those present", decision="follow_up"))
    submit(app, "sec1", op("review", target_type="journal", target_id=jid, comment="Added", reply_to=asked))
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        village = db.session.scalar(select(Unit).where(Unit.code == "V11"))
        words = " ".join(weekly_summary([village], Week.parse(None)))
    assert "2 urgent problems" in words and "wrote 1 journal," in words and "has answered" in words, words

    page.goto(f"{server}/lang/en?next=/login")
    log_in(page, server)
    wait_synced(page)
    open_view(page, "week")
    expect(page.locator("#review-words")).to_have_text(words)
