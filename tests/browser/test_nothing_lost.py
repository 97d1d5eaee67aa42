"""Nothing a secretary saved is lost: the phone checks with the server's rules before saving, a refused entry
is counted until it is fixed, and discarding asks first and can be undone."""
import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from sync.types import SHANGHAI

from .conftest import entry, log_in, wait_synced, write_journal

pytestmark = pytest.mark.browser

OUTBOX_SIZE = """async () => {
  const session = await new Promise((resolve) => {
    const open = indexedDB.open('zhucun');
    open.onsuccess = () => { const get = open.result.transaction('kv').objectStore('kv').get('session');
      get.onsuccess = () => resolve(get.result); };
  });
  return new Promise((resolve) => {
    const open = indexedDB.open(`zhucun-u${session.user.id}`);
    open.onsuccess = () => { const tx = open.result.transaction(['outbox', 'records']);
      const ops = tx.objectStore('outbox').count(); const recs = tx.objectStore('records').count();
      tx.oncomplete = () => resolve([ops.result, recs.result]); };
  });
}"""


def shanghai(days=0):
    return (dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=days)).isoformat()


def refused(page, **fields):
    form = page.locator("#journal-form")
    for name, value in fields.items():
        form.locator(f"[name={name}]").fill(str(value))
    form.locator("[type=submit]").click()
    error = page.locator("#journal-error")
    expect(error).to_be_visible()
    return error


def test_the_phone_refuses_before_saving_what_the_server_would_reject(page, server, count_journals):
    log_in(page, server)
    wait_synced(page)
    before = page.evaluate(OUTBOX_SIZE)

    error = refused(page, text="长" * 20001)
    expect(error).to_contain_text("20000")
    expect(error).to_contain_text("多了 1 字")  # how much is over, not only "too long"
    expect(page.locator("#journal-form .counter.over")).to_contain_text("超出 1 字")  # said while typing, nothing cut
    assert len(page.locator("#journal-form [name=text]").input_value()) == 20001

    error = refused(page, text="走访三户", visits=99999)
    expect(error).to_contain_text("0 到 200")
    expect(page.locator("#journal-form [name=visits]")).to_have_attribute("aria-invalid", "true")

    error = refused(page, visits=3, date=shanghai(30))
    expect(error).to_contain_text(shanghai(1))  # the last day it may take
    error = refused(page, date="1926-12-01")
    expect(error).to_contain_text(shanghai(-366))

    assert page.evaluate(OUTBOX_SIZE) == before, "nothing refused may be saved on the phone"
    expect(page.locator("#journal-saved")).to_be_empty()
    assert count_journals() == 0

    page.locator("#journal-form [name=date]").fill(shanghai())
    page.click("#journal-form [type=submit]")
    expect(page.locator("#journal-saved")).not_to_be_empty()
    expect(entry(page, "走访三户")).to_have_attribute("data-state", "confirmed")
    assert count_journals(text="走访三户", visits=3) == 1


def refuse_journals(route):
    """A server whose rules the phone's copy of the schema does not know yet (a newer release)."""
    body = route.request.post_data_json
    route.fulfill(json={"results": [{"op": op["op"], "status": "rejected", "error": {
        "code": "invalid_value", "message": "text is not accepted", "field": "text"}} for op in body["ops"]],
        "changes": [], "cursor": body["cursor"], "more": False})


def test_a_refused_entry_is_counted_until_it_is_fixed_and_confirmed(context, page, server, count_journals):
    log_in(page, server)
    wait_synced(page)
    context.route("**/api/sync", refuse_journals)
    write_journal(page, "下午到三组查看水渠，需要镇里支持水泥")
    item = entry(page, "查看水渠")
    expect(item).to_have_attribute("data-state", "rejected")
    rejected = page.locator("#sync-rejected")
    expect(rejected).to_be_visible()
    expect(rejected).to_contain_text("1")
    expect(page.locator("#sync-status")).not_to_contain_text("已同步。")  # never "synced" while one waits

    context.unroute("**/api/sync")
    rejected.click()  # straight to the entry's form, with the text kept
    text = page.locator("#journal-form [name=text]")
    expect(text).to_have_value("下午到三组查看水渠，需要镇里支持水泥")
    text.fill("下午到三组查看水渠，需要镇里支持两吨水泥")
    page.click("#journal-form [type=submit]")
    fixed = entry(page, "两吨水泥")
    expect(fixed).to_have_attribute("data-state", "confirmed")
    expect(rejected).to_be_hidden()
    expect(page.locator("#journal-list .entry")).to_have_count(1)
    assert count_journals(text="下午到三组查看水渠，需要镇里支持两吨水泥") == 1


def test_discarding_a_never_synced_entry_asks_first_and_can_be_undone(context, page, server, count_journals):
    log_in(page, server)
    wait_synced(page)
    context.route("**/api/sync", refuse_journals)
    write_journal(page, "走访了七户脱贫户，登记了危房改造需求")
    item = entry(page, "危房改造")
    expect(item).to_have_attribute("data-state", "rejected")

    item.locator(".entry-discard").click()
    question = page.locator("#confirm-text")
    expect(question).to_contain_text("走访了七户脱贫户")  # says what will be deleted
    page.click("#confirm-no")
    expect(item).to_have_attribute("data-state", "rejected")  # kept

    item.locator(".entry-discard").click()
    page.click("#confirm-yes")
    expect(item).to_have_count(0)
    page.click("#undo-button")
    expect(item).to_have_attribute("data-state", "rejected")
    expect(item).to_contain_text("登记了危房改造需求")

    context.unroute("**/api/sync")
    item.locator(".entry-edit").click()
    page.click("#journal-form [type=submit]")
    expect(item).to_have_attribute("data-state", "confirmed")
    assert count_journals(text="走访了七户脱贫户，登记了危房改造需求") == 1


def test_only_confirmed_entries_count_in_the_week(context, page, server):
    log_in(page, server)
    wait_synced(page)
    write_journal(page, "上午走访五户", visits=5)
    expect(entry(page, "上午走访五户")).to_have_attribute("data-state", "confirmed")
    context.route("**/api/sync", refuse_journals)
    write_journal(page, "下午走访九十九户", visits=99)
    expect(entry(page, "九十九户")).to_have_attribute("data-state", "rejected")
    page.click("#tabs a[data-view=week]")
    summary = page.locator("#review-sum")
    expect(summary).to_contain_text(re.compile(r"日志\s*1\s*篇"))
    expect(summary).to_contain_text(re.compile(r"走访\s*5\s*户"))
    expect(page.locator("#review-journals")).not_to_contain_text("九十九户")
    expect(page.locator("#review-pending")).to_contain_text("1")
