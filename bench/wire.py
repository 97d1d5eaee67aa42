"""The real wire: a week of field work synced over Slow 3G, counted by the browser.

Usage: python bench/wire.py [--runs 3] [--port 5640]

Each run serves a fresh SQLite demo database with gunicorn (the repository's gunicorn.conf.py, two workers) on
127.0.0.1:<port> and drives Debian's Chromium through Playwright at 360 px:

1. `shuji` logs in at full speed; the phone pulls the demo and the service worker takes control.
2. Offline (CDP `Network.emulateNetworkConditions` with `offline: true`), the week of the issue is typed into
   the forms: 28 journals of about 130 Chinese characters (four a day over the last seven days), 4 problems,
   3 residents' requests.
3. Online on Slow 3G: `Network.emulateNetworkConditions` with `offline: false, latency: 400` (ms, added to
   each request), `downloadThroughput: 50000, uploadThroughput: 50000` (bytes/s), `connectionType:
   cellular3g`; at the same moment the service worker's Background Sync event is fired
   (`ServiceWorker.dispatchSyncEvent`), as a phone's browser fires it when the connection returns.
4. The clock stops when the page shows everything confirmed (sync status "synced", nothing waiting, every
   journal confirmed); requests are counted until 3 s after that, so a late follow-up would be counted.

Bytes are the browser's own counts: received is `Network.loadingFinished.encodedDataLength` (headers and body
as transferred); sent is the request line and the headers Chromium sent (`requestWillBeSentExtraInfo`) plus
the body's `Content-Length`. The floor is gzip -9 of the ops' JSON (the outbox as the phone puts it on the wire,
read from IndexedDB before going online). The first loads are fresh: the HTTP cache disabled
(`Network.setCacheDisabled`) and, for /field, the service worker bypassed (`Network.setBypassServiceWorker`),
so every resource crosses the wire; /field is loaded by a logged-in phone.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from app.demo import PASSWORD  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SLOW_3G = {"offline": False, "latency": 400, "downloadThroughput": 50_000, "uploadThroughput": 50_000,
           "connectionType": "cellular3g"}
OFFLINE = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
FULL_SPEED = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
SETTLE = 3.0  # seconds after "all confirmed" in which a late request would still be counted
USER = "shuji"

PHRASES = ["今天上午走访了村东组的五户脱贫户，", "了解春耕备肥和务工收入情况，", "李大爷反映自家门前排水沟堵塞，",
           "下雨时积水进院，已联系村组长明天组织清理；", "下午在党群服务中心接待群众来访三人次，",
           "协调解决了低保续办材料不全的问题；", "晚上召开村两委碰头会，", "商定下周推进水渠维修和垃圾分类宣传，",
           "并对照问题清单逐项落实责任人和完成时限。"]


def chinese_text(index: int, length: int = 130) -> str:
    text, k = f"第{index + 1}天记录：", index
    while len(text) < length:
        text += PHRASES[k % len(PHRASES)]
        k += 1
    return text[:length]


# ---------------------------------------------------------------- the server

@contextlib.contextmanager
def gunicorn(port: int):
    """A fresh SQLite demo database served by gunicorn with the repository's config, on 127.0.0.1:<port>."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp}/wire.sqlite", "ZHUCUN_INSTANCE": tmp,
               "ZHUCUN_BIND": f"127.0.0.1:{port}", "ZHUCUN_WORKERS": "2", "FLASK_APP": "app"}
        flask = [str(ROOT / ".venv/bin/flask"), "--app", "app"]
        for command in (["db", "upgrade"], ["seed-demo"]):
            subprocess.run(flask + command, cwd=ROOT, env=env, check=True, capture_output=True)
        log = open(Path(tmp) / "gunicorn.log", "w")
        server = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py"], cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_up(base, server)
            yield base
        finally:
            server.terminate()
            server.wait(30)
            log.close()


def wait_up(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        try:
            urllib.request.urlopen(f"{base}/offline", timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within 60 s")


# ---------------------------------------------------------------- what the browser counted

@dataclass
class Request:
    method: str = ""
    url: str = ""
    status: int = 0
    sent_headers: int = 0
    sent_body: int = 0
    received: int = 0  # headers and body as transferred
    received_headers: int = 0
    encoding_sent: str = ""
    encoding_received: str = ""
    finished: bool = False
    started: float = 0.0

    @property
    def sent(self) -> int:
        return self.sent_headers + self.sent_body


@dataclass
class Wire:
    """The page's network as Chromium reports it over CDP."""
    requests: dict[str, Request] = field(default_factory=dict)

    def attach(self, cdp) -> None:
        cdp.on("Network.requestWillBeSent", self.will_send)
        cdp.on("Network.requestWillBeSentExtraInfo", self.sent_extra)
        cdp.on("Network.responseReceived", self.response)
        cdp.on("Network.responseReceivedExtraInfo", self.response_extra)
        cdp.on("Network.loadingFinished", self.finished)
        cdp.on("Network.loadingFailed", self.failed)

    def get(self, request_id: str) -> Request:
        return self.requests.setdefault(request_id, Request())

    def will_send(self, event) -> None:
        r = self.get(event["requestId"])
        r.method, r.url, r.started = event["request"]["method"], event["request"]["url"], time.perf_counter()

    def sent_extra(self, event) -> None:
        r = self.get(event["requestId"])
        headers = event["headers"]
        lower = {k.lower(): v for k, v in headers.items()}
        line = f"{r.method or 'GET'} {path_of(r.url) or '/'} HTTP/1.1\r\n"
        r.sent_headers = len(line.encode()) + sum(len(f"{k}: {v}\r\n".encode()) for k, v in headers.items()) + 2
        r.sent_body = int(lower.get("content-length", 0))
        r.encoding_sent = lower.get("content-encoding", "")

    def response(self, event) -> None:
        r = self.get(event["requestId"])
        r.status = event["response"]["status"]
        headers = {k.lower(): v for k, v in event["response"]["headers"].items()}
        r.encoding_received = headers.get("content-encoding", "")

    def response_extra(self, event) -> None:
        self.get(event["requestId"]).received_headers = len((event.get("headersText") or "").encode())

    def finished(self, event) -> None:
        r = self.get(event["requestId"])
        r.received, r.finished = int(event["encodedDataLength"]), True

    def failed(self, event) -> None:
        self.get(event["requestId"]).finished = True

    def since(self, moment: float) -> list[Request]:
        return [r for r in self.requests.values() if r.url and r.started >= moment and not r.url.startswith("data:")]


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3] if url.count("/") >= 3 else url


# ---------------------------------------------------------------- the phone

def log_in(page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#login-form [name=username]", USER)
    page.fill("#login-form [name=password]", PASSWORD)
    page.click("#login-form [type=submit]")
    page.wait_for_url(f"{base}/field")
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null")
    page.wait_for_selector("#sync-status[data-status=synced]")


def save_form(page, form: str, **fields) -> None:
    form_el = page.locator(f"#{form}")
    for name, value in fields.items():
        form_el.locator(f"[name={name}]").fill(str(value))
    form_el.locator("[type=submit]").click()


# At least n journals saved on the phone, not sent.
WAITING = "(n) => document.querySelectorAll('#journal-list .entry[data-state=waiting]').length >= n"


def type_the_week(page) -> None:
    today = dt.date.today()
    for index in range(28):
        day = today - dt.timedelta(days=index // 4)
        save_form(page, "journal-form", date=day.isoformat(), text=chinese_text(index), visits=index % 6,
                  places="村东组、党群服务中心")
        page.wait_for_function(WAITING, arg=index + 1)
    page.click("#tabs a[data-view=problems]")
    for index in range(4):
        page.click("#view-problems [data-new=problem]")
        save_form(page, "problem-form", title=f"村东组排水沟堵塞第{index + 1}处", detail=chinese_text(index, 60),
                  category="基础设施")
        page.wait_for_selector("#problem-card", state="hidden")
    page.click("#tabs a[data-view=pavilion]")
    for index in range(3):
        page.click("#view-pavilion [data-new=request]")
        save_form(page, "request-form", content=chinese_text(index + 10, 50), resident_name=f"王{index + 1}婶",
                  resident_contact=f"1380000{index:04d}", category="民生")
        page.wait_for_selector("#request-card", state="hidden")
    page.click("#tabs a[data-view=journal]")


OUTBOX_JSON = """async () => {
  const link = (name) => document.querySelector(`link[rel=modulepreload][href$="/${name}"]`).href;
  const db = await import(link('db.js'));
  const { wire } = await import(link('outbox.js'));
  const session = await db.getSession();
  const user = await db.openUser(session.user.id);
  const ops = await db.inTx(user, 'outbox', 'readonly', (tx) => db.req(tx.objectStore('outbox').getAll()));
  return JSON.stringify(ops.map(wire));
}"""

ALL_CONFIRMED = """() => document.querySelector('#sync-status').dataset.status === 'synced'
  && !document.querySelector('#sync-waiting').classList.contains('has-waiting')
  && [...document.querySelectorAll('#journal-list .entry')].every((e) => e.dataset.state === 'confirmed')"""


def registration_id(cdp, base: str) -> str:
    found: list[str] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated",
           lambda event: found.extend(r["registrationId"] for r in event["registrations"]
                                      if r["scopeURL"].startswith(base) and not r.get("isDeleted")))
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while not found and time.monotonic() < deadline:
        cdp.send("Runtime.evaluate", {"expression": "1"})  # lets the event loop deliver CDP events
    if not found:
        raise SystemExit("no service worker registration")
    return found[-1]


def week(browser, base: str) -> dict:
    context = browser.new_context(viewport={"width": 360, "height": 780})
    page = context.new_page()
    log_in(page, base)
    cdp = context.new_cdp_session(page)
    wire = Wire()
    wire.attach(cdp)
    cdp.send("Network.enable")
    registration = registration_id(cdp, base)
    cdp.send("Network.emulateNetworkConditions", OFFLINE)
    page.wait_for_selector("#sync-status[data-status=offline]")
    type_the_week(page)
    ops_json = page.evaluate(OUTBOX_JSON)
    ops = json.loads(ops_json)
    assert len(ops) == 35, len(ops)
    floor = len(gzip.compress(ops_json.encode(), 9))

    started = time.perf_counter()
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    cdp.send("ServiceWorker.dispatchSyncEvent", {"origin": base, "registrationId": registration,
                                                 "tag": "zhucun-sync", "lastChance": False})
    page.wait_for_function(ALL_CONFIRMED, polling=20, timeout=120_000)
    confirmed = time.perf_counter() - started
    page.wait_for_timeout(SETTLE * 1000)
    seen = wire.since(started)
    if not all(r.finished for r in seen):
        raise SystemExit("a request was still on the way 3 s after all was confirmed")
    context.close()
    return {"requests": seen, "confirmed": confirmed, "floor": floor, "ops_bytes": len(ops_json.encode())}


def first_load(browser, base: str, path: str) -> dict:
    """Every resource of `path` crossing the wire: HTTP cache off, service worker bypassed; /field logged in."""
    context = browser.new_context(viewport={"width": 360, "height": 780})
    page = context.new_page()
    if path == "/field":
        log_in(page, base)
    cdp = context.new_cdp_session(page)
    wire = Wire()
    wire.attach(cdp)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.setBypassServiceWorker", {"bypass": True})
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    started = time.perf_counter()
    page.goto(f"{base}{path}", wait_until="load")
    loaded = time.perf_counter() - started
    drawn = None
    if path == "/field":
        page.wait_for_selector("#field-body:not([hidden])")
        drawn = time.perf_counter() - started
        page.wait_for_selector("#sync-status[data-status=synced]", timeout=60_000)
    page.wait_for_load_state("networkidle")
    seen = wire.since(started)
    context.close()
    return {"requests": seen, "loaded": loaded, "drawn": drawn}


# ---------------------------------------------------------------- the report

def kb(n: float) -> str:
    return f"{n / 1000:.1f} KB"


def describe(requests: list[Request]) -> list[str]:
    lines = []
    for r in requests:
        enc = f" [{r.encoding_sent or '-'} ↑, {r.encoding_received or '-'} ↓]"
        lines.append(f"    {r.method:<4} {path_of(r.url)[:60]:<60} {r.status}  ↑ {r.sent:>6} B "
                     f"(body {r.sent_body})  ↓ {r.received:>6} B (headers {r.received_headers}){enc}")
    return lines


def summary(run: dict) -> dict:
    rs = run["requests"]
    sent, received = sum(r.sent for r in rs), sum(r.received for r in rs)
    bodies = sum(r.sent_body for r in rs) + sum(r.received - r.received_headers for r in rs)
    return {"requests": len(rs), "sent": sent, "received": received, "total": sent + received, "bodies": bodies,
            "confirmed": run["confirmed"], "floor": run["floor"],
            "ratio_bodies": bodies / run["floor"], "ratio_total": (sent + received) / run["floor"]}


def page_summary(run: dict) -> dict:
    page = [r for r in run["requests"] if "/api/" not in r.url]
    api = [r for r in run["requests"] if "/api/" in r.url]
    return {"files": len(page), "bytes": sum(r.received + r.sent for r in page),
            "received": sum(r.received for r in page), "api": sum(r.received + r.sent for r in api),
            "api_requests": len(api), "loaded": run["loaded"], "drawn": run["drawn"]}


def median(values):
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port", type=int, default=5640)
    args = parser.parse_args()
    weeks, fields, logins = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for index in range(args.runs):
                with gunicorn(args.port) as base:
                    run = week(browser, base)
                    weeks.append(run)
                    fields.append(first_load(browser, base, "/field"))
                    logins.append(first_load(browser, base, "/login"))
                s = summary(run)
                print(f"run {index + 1}: {s['requests']} requests, ↑ {kb(s['sent'])}, ↓ {kb(s['received'])}, "
                      f"confirmed in {s['confirmed']:.2f} s", flush=True)
        finally:
            browser.close()

    print(f"\nSlow 3G as set over CDP (Network.emulateNetworkConditions): {json.dumps(SLOW_3G)}")
    print(f"\nThe week (28 journals of 130 characters, 4 problems, 3 requests; offline, then online), "
          f"median of {args.runs} runs:")
    sums = [summary(run) for run in weeks]
    m = {key: median([s[key] for s in sums]) for key in sums[0]}
    print(f"  requests                        {m['requests']:.0f}   (goal ≤ 2)")
    print(f"  sent, headers included          {kb(m['sent'])}")
    print(f"  received, headers included      {kb(m['received'])}")
    print(f"  both ways                       {kb(m['total'])}")
    print(f"  bodies both ways                {kb(m['bodies'])}")
    print(f"  gzip floor (gzip -9 of the ops' JSON, {kb(weeks[0]['ops_bytes'])} raw)  {kb(m['floor'])}")
    print(f"  bodies / floor                  {m['ratio_bodies']:.2f}   (goal ≤ 1.5)")
    print(f"  everything / floor              {m['ratio_total']:.2f}   (goal ≤ 2)")
    each = ", ".join(f"{s['confirmed']:.2f}" for s in sums)
    print(f"  online → all confirmed          {m['confirmed']:.2f} s (runs: {each})")
    print("  the requests of the first run:")
    print("\n".join(describe(weeks[0]["requests"])))

    for name, runs in (("/field (logged in)", fields), ("/login", logins)):
        ps = [page_summary(run) for run in runs]
        print(f"\nFirst load of {name}, HTTP cache off, service worker bypassed, median of {len(ps)}:")
        goal = "   (goal ≤ 35 KB received)" if "field" in name else ""
        print(f"  page resources  {median([p['files'] for p in ps]):.0f} requests, "
              f"{kb(median([p['received'] for p in ps]))} received, {kb(median([p['bytes'] for p in ps]))} "
              f"both ways, headers included{goal}")
        if ps[0]["api_requests"]:
            print(f"  and the API     {median([p['api_requests'] for p in ps]):.0f} requests, "
                  f"{kb(median([p['api'] for p in ps]))} (the schema and the first sync)")
        print(f"  on Slow 3G: load event {median([p['loaded'] for p in ps]):.2f} s"
              + (f", the journal drawn {median([p['drawn'] for p in ps]):.2f} s" if ps[0]["drawn"] else ""))
        print("\n".join(describe(runs[0]["requests"])))


if __name__ == "__main__":
    main()
