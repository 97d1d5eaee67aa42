"""The phone works offline: the shell comes from the service worker, entries wait in the outbox."""
import pytest
from playwright.sync_api import expect

from .conftest import entry, log_in, wait_controlled, wait_synced, write_journal

pytestmark = pytest.mark.browser


def test_offline_entry_survives_reload_and_syncs_once(context, page, server, count_journals):
    log_in(page, server)
    wait_controlled(page)
    wait_synced(page)

    context.set_offline(True)
    server.hits.clear()
    response = page.reload()
    assert response.from_service_worker
    expect(page.locator("#journal-form")).to_be_visible()

    write_journal(page, "走访了三户低保户,修好了村口的路灯", visits=3, places="村口")
    item = entry(page, "修好了村口的路灯")
    expect(item).to_have_attribute("data-state", "waiting")
    expect(page.locator("#sync-waiting")).to_contain_text("1")

    page.reload()
    expect(item).to_have_attribute("data-state", "waiting")
    assert server.app_hits() == [], "offline: nothing may reach the server"
    assert count_journals() == 0

    context.set_offline(False)
    expect(item).to_have_attribute("data-state", "confirmed")
    expect(page.locator("#sync-waiting")).to_contain_text("0")
    assert count_journals(text="走访了三户低保户,修好了村口的路灯", visits=3) == 1

    cached = page.evaluate(CACHED_URLS)
    assert "/field" in cached and "/offline" in cached
    assert not [url for url in cached if url.startswith("/api/")]


def test_other_pages_offline_show_the_offline_page(context, page, server):
    log_in(page, server)
    wait_controlled(page)
    context.set_offline(True)
    page.goto(f"{server}/township/journals")
    expect(page.locator("a[href='/field']")).to_be_visible()
    page.click("a[href='/field']")
    expect(page.locator("#journal-form")).to_be_visible()


CACHED_URLS = """async () => {
  const urls = [];
  for (const name of await caches.keys()) {
    for (const request of await (await caches.open(name)).keys()) {
      const url = new URL(request.url);
      urls.push(url.pathname + url.search);
    }
  }
  return urls;
}"""
