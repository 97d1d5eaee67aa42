"""The field shell as the server sends it: service worker, manifest, modules, budget. No browser needed."""
import gzip
import json
import re

import pytest

from tests.conftest import PASSWORD

JS_BUDGET = 30 * 1024
TOTAL_BUDGET = 100 * 1024


@pytest.fixture
def phone(app, world):
    client = app.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "sec1", "password": PASSWORD, "csrf_token": token.group(1)})
    assert response.status_code == 302 and response.location.endswith("/field")
    return client


def test_service_worker_is_served_at_the_root_with_a_versioned_precache(phone, app):
    response = phone.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "application/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    head = response.get_data(as_text=True).splitlines()[0]
    precache = json.loads(re.search(r"const PRECACHE = (\[.*?\]);", head).group(1))
    version = app.extensions["asset_version"]
    assert f"/js/{version}/field.js" in precache
    assert all(url.startswith(f"/js/{version}/") or "?v=" in url for url in precache)
    for url in precache:
        assert phone.get(url).status_code == 200, url
    assert "/api/" not in head


def test_versioned_modules_are_immutable(phone, app):
    current = phone.get(f"/js/{app.extensions['asset_version']}/db.js")
    assert "immutable" in current.headers["Cache-Control"] and "no-cache" not in current.headers["Cache-Control"]
    assert current.mimetype == "text/javascript"
    # Another release's module is not served as this one's: its relative imports would mix two releases.
    assert phone.get("/js/000000000000/db.js").status_code == 404
    assert phone.get(f"/js/{app.extensions['asset_version']}/../__init__.py").status_code == 404


def test_manifest(phone):
    response = phone.get("/manifest.webmanifest")
    assert response.mimetype == "application/manifest+json"
    manifest = response.get_json(force=True)
    assert manifest["lang"] == "zh-CN" and manifest["display"] == "standalone"
    assert manifest["start_url"] == "/field" and manifest["scope"] == "/"
    sizes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        assert phone.get(icon["src"]).status_code == 200


def test_offline_page_needs_no_login(app, world):
    response = app.test_client().get("/offline")
    assert response.status_code == 200 and 'href="/field"' in response.get_data(as_text=True)


def test_field_page_names_nobody(app, world, phone):
    """The shell the service worker keeps for whoever uses the phone next: the same with or without a login."""
    anonymous = app.test_client().get("/field")
    assert anonymous.status_code == 200 and anonymous.headers["Zhucun-Shell"] == "neutral"
    mine = phone.get("/field")
    assert mine.status_code == 200 and mine.headers["Zhucun-Shell"] == "neutral"
    html = mine.get_data(as_text=True)
    assert html == anonymous.get_data(as_text=True)
    for personal in ("sec1", "data-user-id", "csrf_token", "logout-form"):
        assert personal not in html, personal


def test_field_page_sends_township_users_to_their_pages(app, world):
    client = app.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").get_data(as_text=True))
    client.post("/login", data={"username": "staff1", "password": PASSWORD, "csrf_token": token.group(1)})
    response = client.get("/field")
    assert response.status_code == 302 and response.location.endswith("/township/journals")
    assert "Zhucun-Shell" not in client.get("/offline").headers  # its header names the user


def test_no_inline_script_or_style(phone):
    html = phone.get("/field").get_data(as_text=True)
    assert " style=" not in html and "<style" not in html
    for tag in re.findall(r"<script[^>]*>", html):
        assert 'src="' in tag or 'type="application/json"' in tag, tag


def gz(data: bytes) -> int:
    return len(gzip.compress(data, 9))


def test_first_load_budget(phone):
    """JS of the first load ≤ 30 KB compressed; everything ≤ 100 KB compressed."""
    html = phone.get("/field").get_data()
    total = gz(html)
    page = html.decode()
    seen, queue, js = set(), re.findall(r'<script type="module" src="([^"]+)"', page), 0
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        body = phone.get(url).get_data()
        js += gz(body)
        base = url.rsplit("/", 1)[0]
        imports = re.findall(r"(?:from|import) '\./([\w.-]+)'", body.decode())
        queue += [f"{base}/{name}" for name in imports]
    assert len(seen) >= 6, seen
    for url in re.findall(r'<link rel="(?:stylesheet|icon|manifest)" href="([^"]+)"', page):
        total += gz(phone.get(url).get_data())
    total += js + gz(phone.get("/sw.js").get_data())
    assert js <= JS_BUDGET, js
    assert total <= TOTAL_BUDGET, total
