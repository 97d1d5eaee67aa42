"""Sync from the phone: lost answers, a persistent outbox, revoked devices, rejected entries."""
import datetime as dt

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import Device, OpLog

from .conftest import CHROMIUM, CHROMIUM_ARGS, entry, log_in, wait_controlled, wait_synced, write_journal

pytestmark = pytest.mark.browser


def lose_answers(lost: list, cut: list):
    """A route for /api/sync: while `cut` holds True, the first request with ops reaches the server, which
    applies them, and its answer is lost (appended to `lost`); the phone's retries (its backoff timer, or the
    sync an edit starts) do not get through, so the test alone decides when the retry arrives."""
    def handle(route):
        if not cut or not route.request.post_data_json.get("ops"):
            route.continue_()
        elif not lost:
            lost.append(route.fetch().json())  # the server applies the ops...
            route.abort("connectionreset")  # ...and the phone never hears back
        else:
            route.abort("connectionrefused")
    return handle


def test_answer_lost_on_the_way_back_is_not_applied_twice(context, page, server, app, count_journals):
    """The server commits, the response is dropped: the retry is a duplicate, the phone ends confirmed."""
    lost, cut = [], [True]
    log_in(page, server)
    wait_synced(page)
    context.route("**/api/sync", lose_answers(lost, cut))

    write_journal(page, "召开党群议事亭茶话会")
    item = entry(page, "召开党群议事亭茶话会")
    expect(page.locator("#sync-status")).to_have_attribute("data-status", "retry")
    assert lost and lost[0]["results"][0]["status"] == "applied"
    expect(item).to_have_attribute("data-state", "sent")  # sent, no answer yet
    assert count_journals() == 1

    cut.clear()
    page.click("#sync-now")
    expect(item).to_have_attribute("data-state", "confirmed")
    assert count_journals(text="召开党群议事亭茶话会") == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OpLog)) == 1


def test_outbox_survives_closing_the_browser(playwright, server, tmp_path, count_journals):
    """A persistent profile, closed with an entry waiting and reopened offline, still has it."""
    profile = tmp_path / "profile"

    def launch(**options):
        return playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **options)

    browser = launch()
    page = browser.pages[0] if browser.pages else browser.new_page()
    log_in(page, server)
    wait_controlled(page)
    wait_synced(page)
    browser.set_offline(True)
    write_journal(page, "帮助李大爷办理老年优待证")
    expect(entry(page, "老年优待证")).to_have_attribute("data-state", "waiting")
    browser.close()

    browser = launch(offline=True)
    try:
        page = browser.pages[0] if browser.pages else browser.new_page()
        page.goto(f"{server}/field")
        item = entry(page, "老年优待证")
        expect(item).to_have_attribute("data-state", "waiting")
        expect(page.locator("#sync-waiting")).to_contain_text("1")
        assert count_journals() == 0

        browser.set_offline(False)
        expect(item).to_have_attribute("data-state", "confirmed")
        assert count_journals(text="帮助李大爷办理老年优待证") == 1
    finally:
        browser.close()


def test_revoked_device_asks_to_log_in_again_and_keeps_the_entry(page, server, app, count_journals):
    log_in(page, server)
    wait_synced(page)
    with app.app_context():
        db.session.execute(update(Device).values(revoked_at=dt.datetime(2026, 1, 1)))
        db.session.commit()

    write_journal(page, "排查村里的危房")
    item = entry(page, "排查村里的危房")
    relogin = page.locator("#relogin")
    expect(relogin).to_be_visible()
    expect(relogin.locator("a")).to_have_attribute("href", "/login")
    expect(item).to_have_attribute("data-state", "waiting")
    assert count_journals() == 0

    page.reload()  # nobody is logged in on this phone any more: the log-in page names whose entries wait
    page.wait_for_url(f"{server}/login")
    expect(page.locator("#login-waiting-list li")).to_contain_text("sec1")

    log_in(page, server)  # a new device token; the same user's outbox is kept
    expect(item).to_have_attribute("data-state", "confirmed")
    expect(relogin).to_be_hidden()
    assert count_journals(text="排查村里的危房") == 1


def test_edit_of_a_confirmed_entry_sends_only_the_change(page, server, app, count_journals):
    log_in(page, server)
    wait_synced(page)
    write_journal(page, "走访五保户", visits=2)
    item = entry(page, "走访五保户")
    expect(item).to_have_attribute("data-state", "confirmed")

    item.locator(".entry-edit").click()
    page.fill("#journal-form [name=visits]", "4")
    page.click("#journal-form [type=submit]")
    expect(page.locator("#journal-saved")).not_to_be_empty()  # saved: the item waits now, then is confirmed
    expect(item.locator(".entry-meta")).to_contain_text("4")
    expect(item).to_have_attribute("data-state", "confirmed")
    assert count_journals(visits=4) == 1
    with app.app_context():
        ops = db.session.scalars(select(OpLog).order_by(OpLog.received_at)).all()
    assert [(op.base, op.status) for op in ops] == [(None, "applied"), (1, "applied")]
    assert ops[1].changes == {"visits": 4}


def test_edit_while_the_first_answer_is_lost_waits_for_it(context, page, server, app, count_journals):
    """An entry sent without an answer, then edited: the edit goes after the retry, based on version 1."""
    lost, cut = [], [True]
    log_in(page, server)
    wait_synced(page)
    context.route("**/api/sync", lose_answers(lost, cut))
    write_journal(page, "组织志愿者清理垃圾池")
    item = entry(page, "垃圾池")
    expect(item).to_have_attribute("data-state", "sent")

    item.locator(".entry-edit").click()
    page.fill("#journal-form [name=places]", "二组")
    page.click("#journal-form [type=submit]")
    expect(item).to_have_attribute("data-state", "waiting")
    cut.clear()
    page.click("#sync-now")
    expect(item).to_have_attribute("data-state", "confirmed")

    assert count_journals(text="组织志愿者清理垃圾池", places="二组") == 1
    with app.app_context():
        ops = db.session.scalars(select(OpLog).order_by(OpLog.received_at)).all()
    assert [(op.base, op.status, op.conflicts) for op in ops] == [(None, "applied", None), (1, "applied", None)]


def test_pulled_changes_keep_local_edits_on_top(context, page, server, app, count_journals):
    from app.models import Journal
    from tests.api.conftest import Phone

    log_in(page, server)
    wait_synced(page)
    write_journal(page, "上午开支委会", places="村委会")
    item = entry(page, "支委会")
    expect(item).to_have_attribute("data-state", "confirmed")
    with app.app_context():
        record_id = db.session.scalar(select(Journal.id))

    context.set_offline(True)
    item.locator(".entry-edit").click()
    page.fill("#journal-form [name=text]", "上午开支委会,下午走访")
    page.click("#journal-form [type=submit]")
    item = entry(page, "下午走访")
    expect(item).to_have_attribute("data-state", "waiting")

    other = Phone(app.test_client(), "sec1")  # the same secretary on another device edits another field
    response = other.sync([{"op": "00000000-0000-4000-8000-000000000001", "type": "journal", "id": record_id,
                            "base": 1, "set": {"places": "党群议事亭"}}])
    assert response.get_json()["results"][0]["status"] == "applied"

    context.set_offline(False)
    expect(item).to_have_attribute("data-state", "confirmed")
    expect(item).to_contain_text("党群议事亭")
    assert count_journals(text="上午开支委会,下午走访", places="党群议事亭") == 1
