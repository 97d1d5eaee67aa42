"""Search on the phone: every record in the replica, offline, as one types; a tap opens the record in its tab."""
import datetime as dt
import re
import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from sync.types import shanghai_today

from .conftest import synced_then_offline, write_journal

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "zh-CN"}


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, **PHONE}


def write_as_sec1(app, type_, *changes) -> str:
    """A record the village wrote earlier (one op per change, each on the last version); returns its id."""
    from app.models import User
    from app.sync_service import submit
    record_id = str(uuid.uuid4())
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "sec1"))
        for version, values in enumerate(changes):
            [result] = submit(user, [{"op": str(uuid.uuid4()), "type": type_, "id": record_id,
                                      "base": version or None, "set": values}])
            assert result["status"] == "applied", result
    return record_id


@pytest.fixture
def village(app, world):
    today = dt.date.fromisoformat(shanghai_today())
    return {
        "journal": write_as_sec1(app, "journal", {"date": today.isoformat(), "text": "修好了村口的路灯，顺路走访了王大爷家"}),
        "old_journal": write_as_sec1(app, "journal", {"date": (today - dt.timedelta(days=3)).isoformat(),
                                                      "text": "村口开会，有人在纸条上写了<b>粗体</b>字"}),
        "problem": write_as_sec1(app, "problem", {"title": "村口水渠堵塞", "detail": "下雨天积水，路灯也不亮"}),
        "resolved": write_as_sec1(app, "problem", {"title": "村口旧井漏水"}, {"status": "in_progress"},
                                  {"status": "resolved", "resolution": "请镇上修好了井壁"}),
        "request": write_as_sec1(app, "request", {"content": "希望在村口装两盏路灯", "resident_name": "张秀英"}),
        "meeting": write_as_sec1(app, "meeting", {"topic": "议事亭茶话会", "minutes": "商量村口路灯的电费怎么出"}),
    }


def type_in(page, text):
    """Type on in the search field key by key (no Enter), and wait for the results of all of the query, not of
    a part typed on the way."""
    box = page.locator("#search-input")
    box.press_sequentially(text)
    expect(page.locator("#search-list")).to_have_attribute("data-query", box.input_value())


def search(page, text):
    page.locator("#search-input").fill("")
    type_in(page, text)


def results(page):
    return page.locator("#search-list .search-hit")


def test_search_finds_records_offline_as_you_type_and_opens_them(context, page, server, village):
    synced_then_offline(context, page, server)
    expect(page.locator("#journal-list .entry")).to_have_count(2)

    page.tap("#search-open")
    expect(page.locator("#search-input")).to_be_focused()
    expect(page.locator("#search-results")).to_be_hidden()  # no query, no panel

    # One word: every type that has it, labelled, newest first (the journal of three days ago last).
    search(page, "村口")
    expect(results(page)).to_have_count(6)
    expect(page.locator("#search-summary")).to_have_text("找到 6 条")
    types = results(page).evaluate_all("els => els.map((el) => el.dataset.type)")
    assert sorted(types) == sorted(["journal", "journal", "problem", "problem", "request", "meeting"])
    assert results(page).last.get_attribute("data-id") == village["old_journal"]
    for label in ("驻村日志", "问题", "群众诉求", "议事亭会议"):
        expect(page.locator("#search-list .search-type", has_text=label).first).to_be_visible()
    expect(page.locator("#search-list mark", has_text="村口")).to_have_count(6)

    # A second word narrows the list as it is typed; a field other than the title says where it matched.
    type_in(page, " 路灯")
    expect(results(page)).to_have_count(4)
    problem = page.locator(f"#search-list [data-id='{village['problem']}']")
    expect(problem.locator(".search-snippet")).to_contain_text("详情")
    expect(problem.locator(".search-snippet mark")).to_have_text("路灯")
    type_in(page, " 王大爷")
    expect(results(page)).to_have_count(1)
    expect(results(page)).to_have_attribute("data-id", village["journal"])

    # The record's text is shown as text, never as markup.
    search(page, "粗体")
    expect(results(page)).to_have_count(1)
    expect(results(page).locator(".search-title")).to_contain_text("<b>粗体</b>")
    expect(page.locator("#search-list b")).to_have_count(0)

    search(page, "不存在的词")
    expect(page.locator("#search-none")).to_be_visible()
    expect(page.locator("#search-none")).to_have_text("无匹配结果")
    expect(results(page)).to_have_count(0)
    page.locator("#search-input").fill("")
    expect(page.locator("#search-results")).to_be_hidden()

    # A tap opens the record in its tab, scrolled to and marked.
    for query, key, view in (("水渠", "problem", "problems"), ("两盏", "request", "pavilion"),
                             ("王大爷", "journal", "journal"), ("旧井", "resolved", "problems")):
        search(page, query)
        results(page).first.tap()
        expect(page).to_have_url(re.compile(f"#{view}$"))
        expect(page.locator("#search-results")).to_be_hidden()
        card = page.locator(f"#view-{view} .entry[data-id='{village[key]}']")
        expect(card).to_be_in_viewport()
        expect(card).to_have_class(re.compile(r"\bsearch-target\b"))
    # The resolved problem was hidden by the list's "to do" filter, which now shows everything.
    expect(page.locator("#problem-filter")).to_have_value("all")

    # The opened record stays marked when its list is drawn again (here: a new entry is written).
    search(page, "王大爷")
    results(page).first.tap()
    card = page.locator(f"#view-journal .entry[data-id='{village['journal']}']")
    expect(card).to_have_class(re.compile(r"\bsearch-target\b"))
    write_journal(page, "下午去合作社看了看")
    expect(page.locator("#journal-list .entry")).to_have_count(3)
    expect(card).to_have_class(re.compile(r"\bsearch-target\b"))

    page.tap("#search-close")
    expect(page.locator("#search")).to_be_hidden()
    assert server.app_hits() == [], "offline: nothing may reach the server"
