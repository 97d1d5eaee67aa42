"""The phone's figures, in Chromium against the demo: first-load bytes, offline reload, save → list.

Usage: python bench/field_load.py [--runs 15]
"""
from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.live import chromium, demo_server, log_in  # noqa: E402

SAVE_AND_WAIT = """async (text) => {
  const list = document.querySelector('#journal-list');
  const form = document.querySelector('#journal-form');
  form.querySelector('[name=text]').value = text;
  const shown = new Promise((resolve) => {
    const seen = () => [...list.querySelectorAll('.entry')].some((el) => el.textContent.includes(text));
    const observer = new MutationObserver(() => { if (seen()) { observer.disconnect(); resolve(); } });
    observer.observe(list, {childList: true, subtree: true, characterData: true});
  });
  const started = performance.now();
  form.querySelector('[type=submit]').click();
  await shown;
  return performance.now() - started;
}"""


def kind(url: str, content_type: str) -> str:
    if url.endswith(".js") or "javascript" in content_type:
        return "js"
    if "css" in content_type:
        return "css"
    if "html" in content_type:
        return "html"
    return "other"


def first_load(browser, base: str) -> dict:
    context = browser.new_context(viewport={"width": 360, "height": 780})
    page = context.new_page()
    log_in(page, base, "shuji")
    sizes: dict[str, list[tuple[str, int, int]]] = {}
    page.route("**/*", lambda route: route.continue_())  # routing turns the HTTP cache off

    def record(response):
        if "/api/" in response.url or response.status != 200:
            return
        body = response.body()
        entry = (response.url.replace(base, ""), len(body), len(gzip.compress(body, 9)))
        sizes.setdefault(kind(response.url, response.headers.get("content-type", "")), []).append(entry)

    page.on("response", record)
    page.goto(f"{base}/field", wait_until="networkidle")
    context.close()
    return sizes


def timings(browser, base: str, runs: int) -> tuple[list[float], list[float]]:
    context = browser.new_context(viewport={"width": 360, "height": 780})
    page = context.new_page()
    log_in(page, base, "shuji")
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null")
    page.wait_for_selector("#sync-status[data-status=synced]")
    context.set_offline(True)
    reloads, saves = [], []
    for index in range(runs):
        started = time.perf_counter()
        page.reload(wait_until="load")
        page.wait_for_selector("#journal-list .entry")
        reloads.append((time.perf_counter() - started) * 1000)
        saves.append(page.evaluate(SAVE_AND_WAIT, f"基准测试第{index}条：走访农户"))
    context.close()
    return reloads, saves


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with demo_server() as (base, _app), chromium() as browser:
        sizes = first_load(browser, base)
        reloads, saves = timings(browser, base, args.runs)
    print("first load of /field (fresh profile, HTTP cache off), bytes raw → gzip -9:")
    total_raw = total_gz = 0
    for group in ("html", "css", "js", "other"):
        entries = sizes.get(group, [])
        raw, gz = sum(e[1] for e in entries), sum(e[2] for e in entries)
        total_raw, total_gz = total_raw + raw, total_gz + gz
        print(f"  {group:<5} {len(entries):>2} files {raw / 1024:7.1f} KB → {gz / 1024:6.1f} KB")
    print(f"  total {total_raw / 1024:7.1f} KB → {total_gz / 1024:6.1f} KB (budget 100 KB; JavaScript budget 30 KB)")
    print(f"offline reload of /field until the list shows, {args.runs} runs: "
          f"median {statistics.median(reloads):.0f} ms (min {min(reloads):.0f}, max {max(reloads):.0f})")
    print(f"tap save → entry in the list, offline, {args.runs} runs: "
          f"median {statistics.median(saves):.1f} ms (min {min(saves):.1f}, max {max(saves):.1f})")


if __name__ == "__main__":
    main()
