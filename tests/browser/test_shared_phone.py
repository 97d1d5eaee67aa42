"""Shared and lost phones: several people on one phone, logging out (with or without entries waiting, with or
without signal), a device revoked by the township. What must hold is what is stored on the phone afterwards, so
the tests read IndexedDB and Cache Storage whole."""
import json

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from tests.conftest import PASSWORD

from .conftest import entry, log_in, sync_now, wait_controlled, wait_synced, write_journal

pytestmark = pytest.mark.browser

# Every IndexedDB database of the origin: {name: {store: [[key, value], ...]}}.
IDB_DUMP = """async () => {
  const done = (request) => new Promise((ok, fail) => { request.onsuccess = () => ok(request.result);
                                                        request.onerror = () => fail(request.error); });
  const out = {};
  for (const { name } of await indexedDB.databases()) {
    const db = await done(indexedDB.open(name));
    out[name] = {};
    for (const store of db.objectStoreNames) {
      const os = db.transaction(store).objectStore(store);
      const [keys, values] = await Promise.all([done(os.getAllKeys()), done(os.getAll())]);
      out[name][store] = keys.map((key, i) => [key, values[i]]);
    }
    db.close();
  }
  return out;
}"""

# Every entry of every cache: [{cache, url, body}].
CACHE_DUMP = """async () => {
  const out = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      out.push({ cache: name, url: new URL(request.url).pathname, body: await response.text() });
    }
  }
  return out;
}"""

SESSION = """() => new Promise((resolve) => {
  const open = indexedDB.open('zhucun');
  open.onsuccess = () => {
    const get = open.result.transaction('kv').objectStore('kv').get('session');
    get.onsuccess = () => { open.result.close(); resolve(get.result || null); };
  };
})"""


def session(page: Page) -> dict:
    return page.evaluate(SESSION)


def shared(page: Page) -> dict:
    """The shared database's values by key."""
    return dict(page.evaluate(IDB_DUMP).get("zhucun", {}).get("kv", []))


def string(page: Page, key: str, **values) -> str:
    """A sentence of the field page's catalog (js_strings), as the page shows it."""
    strings = json.loads(page.locator("#strings").text_content())
    text = strings[key] if key in strings else strings[f"{key}.other"]  # a sentence with a count: Chinese has one form
    for name, value in values.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def stored_anywhere(page: Page, *needles: str) -> list[str]:
    """Where IndexedDB or Cache Storage still holds any of the needles."""
    found = []
    for name, stores in page.evaluate(IDB_DUMP).items():
        for store, rows in stores.items():
            text = json.dumps(rows, ensure_ascii=False)
            found += [f"IndexedDB {name}/{store}: {n}" for n in needles if n in text]
    for item in page.evaluate(CACHE_DUMP):
        found += [f"cache {item['url']}: {n}" for n in needles if n in item["body"]]
    return found


def refused(page: Page, server: str, token: str) -> str | None:
    """The 401 code the server answers a sync with this token, or None if it takes it."""
    response = page.request.post(f"{server}/api/sync", headers={"Authorization": f"Bearer {token}"},
                                 data={"cursor": None, "limit": 1, "ops": []})
    return response.json()["error"]["code"] if response.status == 401 else None


def revoked_on_server(app, device_id: str) -> bool:
    from app.models import Device
    with app.app_context():
        return db.session.scalar(select(Device.revoked_at).where(Device.id == device_id)) is not None


def user_id(app, username: str) -> int:
    from app.models import User
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def block_sync(context) -> None:
    """The phone seems online but its entries cannot leave it."""
    context.route("**/api/sync", lambda route: route.abort())


def one_confirmed_one_waiting(context, page: Page, sent: str, waiting: str) -> dict:
    """An entry the server has, then one that cannot leave the phone; the session they were written in."""
    write_journal(page, sent)
    expect(entry(page, sent)).to_have_attribute("data-state", "confirmed")
    mine = session(page)
    block_sync(context)
    write_journal(page, waiting)
    expect(page.locator("#sync-waiting")).to_have_text(string(page, "waitingCount", n=1))
    return mine


def account(page: Page, button: str) -> None:
    """Tap a button of the header's menu (switch person, log out)."""
    page.click("#account-menu > summary")
    page.click(button)


def confirm_dialog(page: Page):
    dialog = page.locator("#confirm")
    expect(dialog).to_be_visible()
    return dialog


# What an earlier version of the app left in Cache Storage: the field page with its user's name in it.
PLANT_OLD_PAGE = """async () => {
  const cache = await caches.open('zhucun-000000000000');
  await cache.put('/field', new Response('<span class="who">sec1 · 一村</span>', { headers: { 'Content-Type': 'text/html' } }));
}"""


def test_two_people_on_one_phone_each_see_only_their_own(page, server, app):
    log_in(page, server, "sec1")
    wait_synced(page)
    expect(page.locator("#who")).to_contain_text("sec1")
    write_journal(page, "一村:清理水渠")
    expect(entry(page, "清理水渠")).to_have_attribute("data-state", "confirmed")

    account(page, "#switch-user")  # nothing waits: no question
    page.wait_for_url(f"{server}/login")
    expect(page.locator("#login-waiting")).to_be_hidden()
    log_in(page, server, "sec12")  # another village
    wait_synced(page)
    expect(page.locator("#who")).to_contain_text("sec12")
    write_journal(page, "二村:排查危房")
    expect(entry(page, "排查危房")).to_have_attribute("data-state", "confirmed")
    expect(page.locator("#journal-list .entry")).to_have_count(1)
    assert sorted(page.evaluate(IDB_DUMP)) == ["zhucun", f"zhucun-u{user_id(app, 'sec12')}"]
    assert stored_anywhere(page, "清理水渠") == []

    account(page, "#switch-user")
    page.wait_for_url(f"{server}/login")
    log_in(page, server, "sec1")
    wait_synced(page)
    expect(entry(page, "清理水渠")).to_have_attribute("data-state", "confirmed")  # pulled again
    expect(page.locator("#journal-list .entry")).to_have_count(1)
    assert stored_anywhere(page, "排查危房") == []


def test_logout_with_an_empty_outbox_leaves_nothing_of_the_user(page, server, app):
    log_in(page, server, "sec1")
    wait_controlled(page)  # the shell is cached: it must be the page that names nobody
    wait_synced(page)
    write_journal(page, "走访独居老人王大娘", places="三组")
    sync_now(page)
    expect(entry(page, "王大娘")).to_have_attribute("data-state", "confirmed")
    mine = session(page)
    assert mine["user"]["username"] == "sec1" and mine["token"]
    assert stored_anywhere(page, "王大娘")  # the check can find what it looks for
    page.evaluate(PLANT_OLD_PAGE)
    assert stored_anywhere(page, "sec1")

    account(page, "#logout")
    page.wait_for_url(f"{server}/login")
    assert sorted(page.evaluate(IDB_DUMP)) == ["zhucun"]
    assert shared(page) == {}
    assert stored_anywhere(page, "sec1", "王大娘", "三组", mine["token"], mine["device"]) == []
    assert "/field" in [item["url"] for item in page.evaluate(CACHE_DUMP)]  # the neutral shell stays
    assert revoked_on_server(app, mine["device"])
    assert refused(page, server, mine["token"]) == "device_revoked"


def test_logout_with_a_pending_entry_warns_and_keeps_only_it(context, page, server, app, count_journals):
    log_in(page, server, "sec1")
    wait_controlled(page)
    wait_synced(page)
    mine = one_confirmed_one_waiting(context, page, "已经同步的日志", "还没发出的日志")

    account(page, "#logout")
    dialog = confirm_dialog(page)  # asked after one more try to send it
    expect(dialog).to_contain_text(string(page, "logoutUnsent", n=1))
    page.click("#confirm-no")
    expect(dialog).to_be_hidden()
    expect(page.locator("#who")).to_contain_text("sec1")  # still logged in
    assert not revoked_on_server(app, mine["device"])

    account(page, "#logout")
    confirm_dialog(page)
    page.click("#confirm-yes")
    page.wait_for_url(f"{server}/login")
    assert revoked_on_server(app, mine["device"])
    databases = page.evaluate(IDB_DUMP)
    kept = databases[f"zhucun-u{mine['user']['id']}"]
    assert [rec["fields"]["text"] for _, rec in kept["records"]] == ["还没发出的日志"]
    assert len(kept["outbox"]) == 1 and kept["meta"] == []  # no cursor, no people, no schema
    assert stored_anywhere(page, "已经同步的日志", mine["token"]) == []
    waiting = page.locator("#login-waiting-list li")
    expect(waiting).to_have_count(1)
    expect(waiting.locator(".w-name")).to_have_text("sec1 · 一村")
    count = page.locator("#login-waiting-list").get_attribute("data-count")
    expect(waiting.locator(".w-count")).to_have_text(count.replace("{n}", "1"))

    context.unroute("**/api/sync")
    log_in(page, server, "cadre1")  # the same village: sees what was sent, not sec1's waiting entry
    wait_synced(page)
    expect(entry(page, "已经同步的日志")).to_be_visible()
    expect(entry(page, "还没发出的日志")).to_have_count(0)
    account(page, "#switch-user")
    page.wait_for_url(f"{server}/login")

    waiting.click()  # the quick switch back: the name is filled in, the password is asked
    expect(page.locator("#login-form [name=username]")).to_have_value("sec1")
    expect(page.locator("#login-form [name=password]")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.click("#login-form [type=submit]")
    page.wait_for_url(f"{server}/field")
    expect(entry(page, "还没发出的日志")).to_have_attribute("data-state", "confirmed")
    expect(entry(page, "已经同步的日志")).to_be_visible()  # pulled again from the start
    assert count_journals(text="还没发出的日志") == 1
    assert "waiting" not in shared(page)


def test_logout_sends_what_waits_first(context, page, server, app, count_journals):
    log_in(page, server, "sec1")
    wait_synced(page)
    block_sync(context)
    write_journal(page, "临走前记下的日志")
    expect(page.locator("#sync-waiting")).to_have_text(string(page, "waitingCount", n=1))
    context.unroute("**/api/sync")
    account(page, "#logout")  # sent on the way out, so nothing is left to warn about
    page.wait_for_url(f"{server}/login")
    assert count_journals(text="临走前记下的日志") == 1
    assert sorted(page.evaluate(IDB_DUMP)) == ["zhucun"]


def test_a_revoked_device_keeps_only_its_unsent_entry_and_asks_to_log_in(context, page, server, app,
                                                                          count_journals):
    log_in(page, server, "sec1")
    wait_synced(page)
    mine = one_confirmed_one_waiting(context, page, "村口路灯已修好", "低保名单待核对")

    # The township revokes the phone through the API, as its devices page does.
    staff = page.request.post(f"{server}/api/auth/token",
                              data={"username": "staff1", "password": PASSWORD, "device_name": "township PC"})
    assert staff.status == 201
    answer = page.request.post(f"{server}/api/devices/{mine['device']}/revoke",
                               headers={"Authorization": f"Bearer {staff.json()['token']}"})
    assert answer.status == 200
    context.unroute("**/api/sync")

    page.click("#sync-now")
    relogin = page.locator("#relogin")
    expect(relogin).to_be_visible()
    expect(relogin).to_contain_text(string(page, "signedOut"))
    expect(entry(page, "低保名单待核对")).not_to_have_attribute("data-state", "confirmed")
    expect(page.locator("#sync-waiting")).to_have_text(string(page, "waitingCount", n=1))
    expect(entry(page, "村口路灯已修好")).to_have_count(0)
    expect(page.locator("#account")).to_be_hidden()
    databases = page.evaluate(IDB_DUMP)  # all done before the page asked to log in
    assert "session" not in dict(databases["zhucun"]["kv"])
    kept = databases[f"zhucun-u{mine['user']['id']}"]
    assert [rec["fields"]["text"] for _, rec in kept["records"]] == ["低保名单待核对"]
    assert kept["meta"] == []  # the cursor is gone: the next login pulls everything again
    assert refused(page, server, mine["token"]) == "device_revoked"
    assert count_journals(text="低保名单待核对") == 0

    page.reload()  # nobody is logged in on this phone any more
    page.wait_for_url(f"{server}/login")
    expect(page.locator("#login-waiting-list li")).to_contain_text("sec1")
    log_in(page, server, "sec1")
    expect(entry(page, "低保名单待核对")).to_have_attribute("data-state", "confirmed")
    expect(entry(page, "村口路灯已修好")).to_have_attribute("data-state", "confirmed")
    assert count_journals(text="低保名单待核对") == 1
    assert session(page)["device"] != mine["device"]


def test_logout_without_signal_warns_and_revokes_once_online(context, page, server, app):
    log_in(page, server, "sec1")
    wait_controlled(page)
    wait_synced(page)
    mine = session(page)
    context.set_offline(True)

    account(page, "#logout")
    dialog = confirm_dialog(page)
    expect(dialog).to_contain_text(string(page, "logoutOffline"))
    page.click("#confirm-yes")
    expect(page.locator("#signed-out")).to_be_visible()  # said on the page: no navigation without signal
    assert sorted(page.evaluate(IDB_DUMP)) == ["zhucun"]
    assert [p["device"] for p in shared(page)["pendingLogouts"]] == [mine["device"]]
    assert stored_anywhere(page, "sec1") == []
    assert not revoked_on_server(app, mine["device"])

    with page.expect_response(lambda response: response.url.endswith("/api/auth/logout")) as logout:
        context.set_offline(False)  # the page revokes the device as soon as the connection is back
    assert logout.value.status == 200
    page.wait_for_function(f"async () => !(await ({IDB_DUMP})()).zhucun.kv.length")
    assert revoked_on_server(app, mine["device"])
    assert refused(page, server, mine["token"]) == "device_revoked"


def test_too_many_failed_logins_are_refused_with_the_servers_words(page, server, app):
    app.config["LOGIN_FAILURES_PER_USER"] = 3
    for _ in range(3):
        wrong = page.request.post(f"{server}/api/auth/token", data={"username": "sec1", "password": "wrong"})
        assert wrong.status == 401
    refusal = page.request.post(f"{server}/api/auth/token", data={"username": "sec1", "password": PASSWORD})
    assert refusal.status == 429
    page.goto(f"{server}/login")
    page.fill("#login-form [name=username]", "sec1")
    page.fill("#login-form [name=password]", PASSWORD)
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.startswith(f"{server}/login")) as answer:
        page.click("#login-form [type=submit]")
    assert answer.value.status == 429
    expect(page.locator("#login-error")).to_have_text(refusal.json()["error"]["message"])
    assert page.url == f"{server}/login" and session(page) is None
