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

    def app_hits(self) -> list[str]:
        """`hits` without GET /sw.js: on a navigation Chromium may check for a new service worker from the
        browser process, which the emulated offline mode does not reach (a phone without signal could not)."""
        return [hit for hit in self.hits if hit != "GET /sw.js"]


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


def synced_then_offline(context, page: Page, server) -> None:
    """Log in as sec1 with a connection, sync once, then lose the signal and reload: the page now comes from the
    service worker, and `server.hits` counts only what reaches the server from here on."""
    log_in(page, server)
    wait_controlled(page)
    wait_synced(page)
    context.set_offline(True)
    server.hits.clear()
    assert page.reload().from_service_worker


def wait_synced(page: Page) -> None:
    expect(page.locator("#sync-status")).to_have_attribute("data-status", "synced")


def sync_now(page: Page) -> None:
    """Tap "sync now" and wait for that sync to end (the status says "synced" from the last one already)."""
    with page.expect_response(lambda response: response.url.endswith("/api/sync")):
        page.click("#sync-now")
    wait_synced(page)


def write_journal(page: Page, text: str, **fields) -> None:
    form = page.locator("#journal-form")
    form.locator("[name=text]").fill(text)
    for name, value in fields.items():
        form.locator(f"[name={name}]").fill(str(value))
    form.locator("[type=submit]").click()
    expect(page.locator("#journal-saved")).not_to_be_empty()


def entry(page: Page, text: str):
    return page.locator("#journal-list .entry", has_text=text)


def records(app, model_name: str, **where) -> list[dict]:
    """The server's rows of a synced model (app.models.<model_name>) as dicts of their columns."""
    from app import models
    model = getattr(models, model_name)
    with app.app_context():
        query = select(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return [{c.key: getattr(row, c.key) for c in model.__table__.columns} for row in db.session.scalars(query)]


def this_week() -> str:
    import datetime as dt
    from zoneinfo import ZoneInfo
    year, week, _ = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date().isocalendar()
    return f"{year}-W{week:02d}"


def township_task(app, title: str, unit: str = "V11", approve: bool = True, **fields) -> str:
    """A task the township sends down through the server's one write path, and (unless `approve` is
    False) the approver's yes, so that it reaches the village; returns its id."""
    import uuid

    from app.models import User
    from app.sync_service import submit
    record_id = str(uuid.uuid4())
    with app.app_context():
        staff = db.session.scalar(select(User).where(User.username == "staff1"))
        results = submit(staff, [{"op": str(uuid.uuid4()), "type": "task", "id": record_id, "base": None,
                                  "unit": unit, "set": {"title": title, **fields}}])
        assert results[0]["status"] == "applied", results
        if approve:
            approver = db.session.scalar(select(User).where(User.username == "approver1"))
            results = submit(approver, [{"op": str(uuid.uuid4()), "type": "task", "id": record_id, "base": 1,
                                         "set": {"gate": "approved"}}])
            assert results[0]["status"] == "applied", results
    return record_id


def item(page: Page, kind: str, text: str):
    """An item of a list (#problem-list, #request-list, #meeting-list, #inbox-list, #task-list) by its text."""
    return page.locator(f"#{kind}-list .entry", has_text=text)


def open_view(page: Page, view: str) -> None:
    page.click(f"#tabs a[data-view={view}]")
    expect(page.locator(f"#view-{view}")).to_be_visible()


def fill_form(page: Page, form: str, **fields) -> None:
    """Fill #<form> (text, number, date and select fields; True/False for checkboxes) and save it."""
    form = page.locator(f"#{form}")
    for name, value in fields.items():
        field = form.locator(f"[name={name}]")
        if isinstance(value, bool):
            field.set_checked(value)
        elif field.evaluate("el => el.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(str(value))
    form.locator("[type=submit]").click()
    expect(form).to_be_hidden()


def answer_prompt(page: Page, text: str) -> None:
    dialog = page.locator("#prompt")
    expect(dialog).to_be_visible()
    dialog.locator("[name=text]").fill(text)
    dialog.locator("[type=submit]").click()
    expect(dialog).to_be_hidden()
