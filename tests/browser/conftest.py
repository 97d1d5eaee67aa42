"""Browser tests: the real pages in Debian's Chromium against a live server on a temporary SQLite file.

Run: .venv/bin/python -m pytest tests/browser   (CHROMIUM=/path/to/chromium to use another binary)
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from flask_migrate import upgrade
from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app.extensions import db
from tests.conftest import PASSWORD, make_app

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM} (make test installs Debian's chromium)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def app(database_url):
    """The app as it runs for real: CSRF on."""
    app = make_app(database_url, WTF_CSRF_ENABLED=True)
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


class Live(str):
    """The server's base URL; `hits` lists the "METHOD /path" of every request it received."""
    hits: list[str]


@pytest.fixture
def server(app, world):
    """The app served on 127.0.0.1 (a secure context, so service workers run) on a free port."""
    hits: list[str] = []

    def recording(environ, start_response):
        hits.append(f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO', '')}")
        return app(environ, start_response)

    httpd = make_server("127.0.0.1", 0, recording, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    live = Live(f"http://127.0.0.1:{httpd.server_port}")
    live.hits = hits
    yield live
    httpd.shutdown()
    thread.join(5)


@pytest.fixture
def count_journals(app):
    def count(**where) -> int:
        from app.models import Journal
        with app.app_context():
            query = select(func.count()).select_from(Journal)
            for name, value in where.items():
                query = query.where(getattr(Journal, name) == value)
            return db.session.scalar(query)
    return count


def log_in(page: Page, server: str, username: str = "sec1", password: str = PASSWORD) -> None:
    page.goto(f"{server}/login")
    page.fill("#login-form [name=username]", username)
    page.fill("#login-form [name=password]", password)
    page.click("#login-form [type=submit]")
    page.wait_for_url(f"{server}/field")


def wait_controlled(page: Page) -> None:
    """Until the service worker controls the page (it has precached the shell by then)."""
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null")


def wait_synced(page: Page) -> None:
    expect(page.locator("#sync-status")).to_have_attribute("data-status", "synced")


def write_journal(page: Page, text: str, **fields) -> None:
    form = page.locator("#journal-form")
    form.locator("[name=text]").fill(text)
    for name, value in fields.items():
        form.locator(f"[name={name}]").fill(str(value))
    form.locator("[type=submit]").click()
    expect(page.locator("#journal-saved")).not_to_be_empty()


def entry(page: Page, text: str):
    return page.locator("#journal-list .entry", has_text=text)
