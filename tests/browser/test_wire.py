"""The phone's side of the wire: one request per sync, gzip bodies, pushes confirmed by their results, the
village's people inside the sync answer, and a first load that carries only the journal's markup."""
import gzip
import json
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db

from .conftest import (PASSWORD, entry, log_in, open_view, records, sync_now, township_task, wait_controlled,
                       wait_synced, write_journal)

pytestmark = pytest.mark.browser

# Resolves once the page has received the service worker's relayed Background Sync (the test's listener runs
# after the page's own, which has decided by then whether to sync), and once no sync holds or waits for the
# sync lock: every request a sync was going to make has been answered.
RELAYED = """() => { window.relayed = new Promise((resolve) => navigator.serviceWorker.addEventListener('message',
  (event) => { if (event.data && event.data.type === 'sync') resolve(); })); }"""
SETTLED = """async () => {
  await window.relayed;
  for (;;) {
    const { held, pending } = await navigator.locks.query();
    const syncs = [...held, ...pending].filter((lock) => lock.name.startsWith('zhucun-sync-'));
    if (!syncs.length) return true;
    await navigator.locks.request(syncs[0].name, () => {}); // granted after the syncs queued before it
  }
}"""
OWNERS = "() => [...document.querySelectorAll('#problem-form [name=owner] option')].map((o) => o.value)"


def registration_id(cdp, server: str) -> str:
    """The service worker's registration, for CDP's ServiceWorker.dispatchSyncEvent."""
    found = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: found.extend(
        r["registrationId"] for r in event["registrations"] if r["scopeURL"].startswith(server)))
    cdp.send("ServiceWorker.enable")
    for _ in range(1000):
        if found:
            return found[-1]
        cdp.send("Runtime.evaluate", {"expression": "0"})  # CDP events are delivered while a call waits
    raise AssertionError("no service worker registration")


def syncs(page) -> list:
    """Every /api/sync request the page sends from now on (read them with `sent` and `answer`)."""
    seen = []
    page.on("request", lambda request: seen.append(request) if request.url.endswith("/api/sync") else None)
    return seen


def sent(request) -> dict:
    """A sync request's Content-Encoding, its size on the wire and its envelope."""
    encoding = request.all_headers().get("content-encoding")
    raw = request.post_data_buffer
    body = gzip.decompress(raw) if encoding == "gzip" else raw
    return {"encoding": encoding, "bytes": len(raw), "envelope": json.loads(body)}


def answer(request) -> dict:
    return request.response().json()


def test_going_online_makes_exactly_one_request(context, page, server):
    """The `online` event and the Background Sync the browser fires as the connection returns are one sync:
    one POST /api/sync that pushes and pulls, and no /api/people (the people come inside it)."""
    log_in(page, server)
    wait_controlled(page)
    wait_synced(page)
    cdp = context.new_cdp_session(page)
    registration = registration_id(cdp, server)
    context.set_offline(True)
    expect(page.locator("#sync-status")).to_have_attribute("data-status", "offline")
    for text in ("走访三组五户脱贫户", "召开村两委碰头会"):
        write_journal(page, text)
        expect(entry(page, text)).to_have_attribute("data-state", "waiting")
    page.evaluate(RELAYED)
    server.hits.clear()

    context.set_offline(False)
    cdp.send("ServiceWorker.dispatchSyncEvent", {"origin": server, "registrationId": registration,
                                                 "tag": "zhucun-sync", "lastChance": False})
    expect(entry(page, "走访三组")).to_have_attribute("data-state", "confirmed")
    expect(entry(page, "碰头会")).to_have_attribute("data-state", "confirmed")
    page.evaluate(SETTLED)
    assert server.app_hits() == ["POST /api/sync"]


def test_a_push_is_one_request_confirmed_from_its_results(page, server, app):
    """Online, a saved entry is one request whose answer leaves the entry out (the phone has it as the server
    does): the phone confirms it at the result's version, and an edit builds on that version."""
    township_task(app, "排查独居老人的取暖情况", item_code="SX-042")  # a village with a past: its cursor is not 0
    log_in(page, server)
    wait_controlled(page)  # the worker's precache is fetched by then
    wait_synced(page)
    requests = syncs(page)
    server.hits.clear()
    write_journal(page, "帮助李大爷办理老年优待证")
    item = entry(page, "老年优待证")
    expect(item).to_have_attribute("data-state", "confirmed")
    assert server.app_hits() == ["POST /api/sync"]
    first = answer(requests[0])
    assert first["results"][0]["status"] == "applied" and first["results"][0]["version"] == 1
    assert first["changes"] == []  # not sent back: the results confirm it

    item.locator(".entry-edit").click()
    page.fill("#journal-form [name=text]", "帮助李大爷办理老年优待证，材料已交镇民政办")
    page.click("#journal-form [type=submit]")
    expect(entry(page, "材料已交")).to_have_attribute("data-state", "confirmed")
    edit = sent(requests[-1])["envelope"]["ops"][0]
    assert edit["base"] == 1 and answer(requests[-1])["results"][0]["status"] == "applied"  # not a merge
    [row] = records(app, "Journal")
    assert row["version"] == 2 and row["text"].endswith("材料已交镇民政办")
    page.reload()
    expect(entry(page, "材料已交")).to_have_attribute("data-state", "confirmed")


def test_a_large_body_goes_gzipped_and_a_small_one_plain(context, page, server, app):
    log_in(page, server)
    wait_synced(page)
    requests = syncs(page)
    context.set_offline(True)
    week = "今天走访了村东组的农户，了解春耕备肥情况，水渠有一段渗漏，已记入问题清单。" * 12
    for day in range(3):
        write_journal(page, f"第{day + 1}天：{week}")
        expect(entry(page, f"第{day + 1}天")).to_have_attribute("data-state", "waiting")
    context.set_offline(False)
    for day in range(3):
        expect(entry(page, f"第{day + 1}天")).to_have_attribute("data-state", "confirmed")
    wait_synced(page)
    [push] = [sent(r) for r in requests]
    assert push["encoding"] == "gzip" and len(push["envelope"]["ops"]) == 3
    assert push["bytes"] < len(json.dumps(push["envelope"], ensure_ascii=False).encode()) / 3
    assert sorted(r["text"][:3] for r in records(app, "Journal")) == ["第1天", "第2天", "第3天"]

    sync_now(page)  # nothing to push: a small envelope, sent as it is
    pull = sent(requests[-1])
    assert len(requests) == 2 and pull["encoding"] is None and pull["envelope"]["ops"] == []


def test_the_village_people_come_inside_the_sync_answer_when_they_changed(page, server, app):
    requests = syncs(page)
    log_in(page, server)
    wait_synced(page)
    assert sent(requests[0])["envelope"]["people"] is None  # a new phone has none
    people = answer(requests[0])["people"]
    assert {p["username"] for p in people["list"] if p["village"]} == {"sec1", "cadre1"}
    open_view(page, "problems")
    page.click("[data-new=problem]")
    assert page.evaluate(OWNERS) == ["", "cadre1", "sec1"]

    sync_now(page)
    assert sent(requests[-1])["envelope"]["people"] == people["version"]
    assert "people" not in answer(requests[-1])  # unchanged: not sent again

    from app.cli import add_user
    with app.app_context():
        add_user("cadre2", "cadre", "V11", PASSWORD)
        db.session.commit()
    sync_now(page)
    assert {p["username"] for p in answer(requests[-1])["people"]["list"] if p["village"]} == {"sec1", "cadre1", "cadre2"}
    page.click("#problem-form .form-cancel")
    page.click("[data-new=problem]")
    assert page.evaluate(OWNERS) == ["", "cadre1", "cadre2", "sec1"]
    assert "GET /api/people" not in server.hits


def test_the_first_load_carries_only_the_journal_and_the_rest_works_offline(context, page, server):
    """/field has the journal's markup only; the other views' markup is fetched when one is first opened,
    and the service worker has it for a phone without signal."""
    log_in(page, server)
    wait_controlled(page)
    wait_synced(page)
    expect(page.locator("#view-problems")).to_have_count(0)
    server.hits.clear()
    open_view(page, "problems")
    open_view(page, "pavilion")
    assert [hit for hit in server.app_hits() if hit.startswith("GET")] == []  # the worker's precache has it

    context.set_offline(True)
    page.goto(f"{server}/field")
    expect(page.locator("#view-journal")).to_be_visible()
    expect(page.locator("#view-tasks")).to_have_count(0)
    open_view(page, "week")
    open_view(page, "problems")
    page.click("[data-new=problem]")
    page.fill("#problem-form [name=title]", "村口水渠堵塞")
    page.click("#problem-form [type=submit]")
    expect(page.locator("#problem-list .entry", has_text="村口水渠堵塞")).to_have_attribute("data-state", "waiting")


def test_the_field_page_preloads_its_module_graph(app, world):
    """Every module the first load imports is a `modulepreload` link (no waterfall), and none it loads later."""
    client = app.test_client()
    html = client.get("/field").get_data(as_text=True)
    preloaded = re.findall(r'<link rel="modulepreload" href="([^"]+)">', html)
    graph, queue = set(), re.findall(r'<script type="module" src="([^"]+)"', html)
    while queue:
        url = queue.pop()
        if url not in graph:
            graph.add(url)
            source = client.get(url).get_data(as_text=True)
            queue += [f"{url.rsplit('/', 1)[0]}/{name}" for name in re.findall(r"^import .* from '\./([\w-]+\.js)';",
                                                                              source, re.M)]
    assert set(preloaded) == graph and len(graph) >= 6
    assert not any(name in url for url in preloaded for name in ("views.js", "history.js", "thread.js"))
    views = re.search(r'id="views-slot" data-src="([^"]+)"', html).group(1).replace("&amp;", "&")
    fragment = client.get(views)
    assert fragment.headers["Zhucun-Shell"] == "neutral" and "immutable" in fragment.headers["Cache-Control"]
    assert 'id="view-problems"' in fragment.get_data(as_text=True)
    assert 'id="view-problems"' not in html
