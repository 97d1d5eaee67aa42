"""The phone's pages: layout at 360 px, logging in, the update offer (logging out: test_shared_phone.py)."""
import re

import pytest
from playwright.sync_api import expect

from .conftest import log_in, wait_controlled, wait_synced, write_journal

pytestmark = pytest.mark.browser

NO_OVERFLOW = "() => document.documentElement.scrollWidth <= window.innerWidth"
# A box read in one step: the list is redrawn as its entries sync, and locator.bounding_box() on an element
# that a redraw has just replaced gives None.
BOX = "(selector) => { const r = document.querySelector(selector).getBoundingClientRect(); return r.toJSON(); }"
HEIGHTS = "(elements) => elements.map((el) => el.getBoundingClientRect().height)"


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 360, "height": 740}, "device_scale_factor": 2,
            "is_mobile": True, "has_touch": True}


def test_fits_360_px_without_horizontal_scroll(page, server):
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None)
    log_in(page, server)
    wait_synced(page)
    write_journal(page, "上午到三组走访了低收入家庭,了解就医和孩子上学的困难;下午和村两委商量垃圾池的清运办法。" * 3,
                  visits=12, places="三组、村委会、垃圾池旁边的一条很长很长的小路")
    expect(page.locator("#journal-list .entry")).to_have_count(1)
    assert page.evaluate(NO_OVERFLOW)
    for selector in ("#journal-form", "#journal-list", ".syncbar", "#journal-form [type=submit]", "#sync-now"):
        box = page.evaluate(BOX, selector)
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, selector
    for selector in ("#journal-form [type=submit]", "#sync-now", "#journal-list .entry-edit"):
        assert page.evaluate(BOX, selector)["height"] >= 44, selector  # a thumb-sized target
    page.goto(f"{server}/login")
    assert page.evaluate(NO_OVERFLOW)
    assert problems == []  # no script errors, nothing blocked by the CSP


def test_every_view_fits_360_px(page, server, app):
    from .conftest import open_view, this_week, township_task
    township_task(app, "核对低保户名单,核对后在系统里逐户确认并上传照片", item_code="SX-101", week=this_week())
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    log_in(page, server)
    wait_synced(page)
    for view in ("problems", "pavilion", "tasks", "week"):
        open_view(page, view)
        for button in page.locator(f"#view-{view} [data-new]").all():
            button.click()
        assert page.evaluate(NO_OVERFLOW), view
        for tab in page.locator("#tabs a").all():
            box = tab.bounding_box()
            assert box["height"] >= 44 and box["x"] + box["width"] <= 360
    open_view(page, "tasks")
    item = page.locator("#inbox-list .entry").first
    expect(item).to_be_visible()
    assert page.evaluate(NO_OVERFLOW)
    assert all(height >= 44 for height in item.locator("button:visible").evaluate_all(HEIGHTS))
    assert problems == []


def test_wrong_password_is_shown_without_leaving_the_page(page, server):
    page.goto(f"{server}/login")
    page.fill("[name=username]", "sec1")
    page.fill("[name=password]", "wrong")
    page.click("#login-form [type=submit]")
    expect(page.locator("#login-error")).to_be_visible()
    expect(page.locator("#login-error")).not_to_be_empty()
    assert page.url == f"{server}/login"


def test_logging_in_offline_shows_the_hint(context, page, server):
    page.goto(f"{server}/login")
    context.set_offline(True)
    page.fill("[name=username]", "sec1")
    page.fill("[name=password]", "whatever")
    page.click("#login-form [type=submit]")
    expect(page.locator("#login-offline-hint")).to_be_visible()


def test_township_user_goes_to_the_township_pages(page, server):
    page.goto(f"{server}/login")
    page.fill("[name=username]", "staff1")
    page.fill("[name=password]", "correct-horse-1")
    page.click("#login-form [type=submit]")
    page.wait_for_url("**/township/**")
    page.goto(f"{server}/field")
    assert "/township/" in page.url


def test_new_version_is_offered_and_applied_on_request(page, server, app):
    log_in(page, server)
    wait_controlled(page)
    wait_synced(page)
    before = page.evaluate("() => caches.keys()")
    app.extensions["asset_version"] = "f" * 12  # as if a release changed the static files
    page.evaluate("() => navigator.serviceWorker.getRegistration().then((r) => r.update())")
    bar = page.locator("#update-bar")
    expect(bar).to_be_visible()
    with page.expect_navigation():
        page.click("#update-apply")
    expect(page.locator("#journal-form")).to_be_visible()
    assert "/js/ffffffffffff/field.js" in page.content()
    after = page.evaluate("() => caches.keys()")
    assert len(before) == len(after) == 1 and before != after  # the old version's cache is gone


FORGET_SESSION = """() => new Promise((resolve) => {
  const open = indexedDB.open('zhucun');
  open.onsuccess = () => {
    const tx = open.result.transaction('kv', 'readwrite');
    tx.objectStore('kv').delete('session');
    tx.oncomplete = () => { open.result.close(); resolve(); };
  };
})"""


def test_nothing_is_shown_without_this_phones_session(context, page, server):
    """A page cookie alone shows no one's entries: online the phone goes to the login page, offline it asks
    to log in when there is a connection."""
    log_in(page, server)
    wait_controlled(page)
    wait_synced(page)
    write_journal(page, "只给本人看的日志")
    page.evaluate(FORGET_SESSION)
    page.reload()
    page.wait_for_url(f"{server}/login")
    expect(page.get_by_text("只给本人看的日志")).to_have_count(0)
    context.set_offline(True)
    page.goto(f"{server}/field")
    expect(page.locator("#relogin")).to_be_visible()
    expect(page.locator("#field-body")).to_be_hidden()
    expect(page.get_by_text("只给本人看的日志")).to_have_count(0)


def test_a_revoked_phone_loses_its_page_session_too(page, server, app):
    from app.extensions import db
    from app.models import Device, User, utcnow
    log_in(page, server)
    with app.app_context():
        user = db.session.query(User).filter_by(username="sec1").one()
        device = db.session.query(Device).filter_by(user_id=user.id).one()
        device.revoked_at = utcnow()
        db.session.commit()
    page.goto(f"{server}/township/journals")  # its own request or the phone's sync ends the session
    page.wait_for_url(re.compile(r"/login(\?|$)"))
