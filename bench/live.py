"""A demo server in a background thread and a Chromium to drive it (shared by bench/ and scripts/)."""
from __future__ import annotations

import contextlib
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import create_app, demo  # noqa: E402
from app.cli import add_unit, add_user  # noqa: E402
from app.extensions import db  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@contextlib.contextmanager
def demo_server(port: int = 0):
    """Yield (base_url, app) for the seeded demo on a temporary SQLite file (its photos beside it), on `port`
    (0: any free one)."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SECRET_KEY": "live", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/demo.sqlite",
                          "ATTACHMENT_DIR": f"{tmp}/photos"})
        with app.app_context():
            upgrade()
            demo.seed(add_unit, add_user)
        httpd = make_server("127.0.0.1", port, app, threaded=True)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_port}", app
        finally:
            httpd.shutdown()
            with app.app_context():
                db.engine.dispose()


@contextlib.contextmanager
def chromium():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def log_in(page, base: str, username: str, password: str = demo.PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.fill("#login-form [name=username]", username)
    page.fill("#login-form [name=password]", password)
    page.click("#login-form [type=submit]")
    page.wait_for_load_state("networkidle")
