"""Screenshots for the README: the phone at 360 px (offline, one entry waiting) and the township list."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.live import chromium, demo_server, log_in  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with demo_server() as (base, _app), chromium() as browser:
        phone = browser.new_context(viewport={"width": 360, "height": 780}, device_scale_factor=2,
                                    is_mobile=True, has_touch=True, locale="zh-CN")
        page = phone.new_page()
        log_in(page, base, "shuji")
        page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null")
        page.wait_for_selector("#sync-status[data-status=synced]", state="attached")
        phone.set_offline(True)
        page.reload()
        page.fill("#journal-form [name=text]", "在村东组走访，帮李大爷联系镇卫生院上门体检。")
        page.fill("#journal-form [name=visits]", "3")
        page.click("#journal-form [type=submit]")
        page.wait_for_selector("#journal-list .entry >> text=李大爷")
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(OUT / "phone.png"), full_page=False)
        phone.close()

        desk = browser.new_context(viewport={"width": 1200, "height": 800}, locale="zh-CN")
        page = desk.new_page()
        log_in(page, base, "zhenyuan")
        page.goto(f"{base}/township/journals")
        page.screenshot(path=str(OUT / "township.png"), full_page=False)
        page.goto(f"{base}/township/villages")
        page.screenshot(path=str(OUT / "overview.png"), full_page=False)
        page.goto(f"{base}/township/reports/weekly")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(OUT / "report.png"), full_page=True)
        desk.close()
    print(f"wrote {', '.join(p.name for p in sorted(OUT.glob('*.png')))} to {OUT}")


if __name__ == "__main__":
    main()
