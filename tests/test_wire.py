"""The wire (DESIGN.md, "On the wire"): every kind of response compressed when the client asks, and decoding to
what an uncompressing client gets; gzip sync bodies inflated with a bound; UTF-8 JSON; versioned assets cached
for good and nothing else."""
from __future__ import annotations

import gzip
import io
import json
import re
import sqlite3
import struct
import tracemalloc
import zlib

import brotli
import openpyxl
import pytest
from sqlalchemy import func, select

from app.cli import add_unit
from app.extensions import db
from app.models import Journal
from tests.api.conftest import Phone, journal
from tests.conftest import PASSWORD

IMMUTABLE = "public, max-age=31536000, immutable"
MB = 1024 * 1024
DECODE = {"gzip": gzip.decompress, "br": brotli.decompress}


def login(client, username):
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302


@pytest.fixture
def staff(app, world):
    """A township user's browser, with twenty villages and a few journals to report on."""
    with app.app_context():
        for n in range(18):
            add_unit(f"V1{n:02}", f"第{n}村", "village", "T1")
        db.session.commit()
    phone = Phone(app.test_client(), "sec1")
    assert phone.sync([journal(f"走访{i}户，村民反映灌溉水渠堵塞，已联系镇水利站。") for i in range(30)]).status_code == 200
    client = app.test_client()
    login(client, "staff1")
    return client


def current_module(app, name):
    return f"/js/{app.extensions['asset_version']}/{name}"


def current_static(app, name):
    return f"/static/{name}?v={app.extensions['asset_hashes'][name]}"


# Every kind of response the app sends (the sync's own is in test_a_gzip_sync_body_is_applied): pages, the API's
# JSON, the field shell's script and style, the service worker, the manifest, a chart, a CSV report, the export.
KINDS = {
    "html page": lambda app: "/township/villages",
    "field shell": lambda app: "/field",
    "township page": lambda app: "/township/journals",
    "json api": lambda app: "/api/schema",
    "openapi": lambda app: "/api/openapi.json",
    "js module": lambda app: current_module(app, "outbox.js"),
    "css": lambda app: current_static(app, "css/app.css"),
    "service worker": lambda app: "/sw.js",
    "manifest": lambda app: "/manifest.webmanifest",
    "svg chart": lambda app: "/township/charts/activity.svg",
    "csv report": lambda app: "/township/reports/weekly?format=csv",
    "sqlite export": lambda app: "/township/export.sqlite",
}


def test_every_kind_of_response_is_compressed_and_decodes_to_the_same_body(staff, app):
    for kind, path_of in KINDS.items():
        path = path_of(app)
        browser = app.test_client() if kind == "field shell" else staff  # the shell is nobody's (and the phone's)
        plain = browser.get(path)
        assert plain.status_code == 200 and "Content-Encoding" not in plain.headers, kind
        for encoding, decode in DECODE.items():
            packed = browser.get(path, headers={"Accept-Encoding": f"{encoding}, deflate"})
            assert packed.status_code == 200 and packed.headers.get("Content-Encoding") == encoding, (kind, encoding)
            assert "accept-encoding" in packed.headers["Vary"].lower(), kind
            assert len(packed.get_data()) < len(plain.get_data()), (kind, encoding)
            same = SAME_CONTENT.get(kind, bytes)
            assert same(decode(packed.get_data())) == same(plain.get_data()), (kind, encoding)


def dump(sqlite_file: bytes) -> list[str]:
    conn = sqlite3.connect(":memory:")
    conn.deserialize(sqlite_file)
    return list(conn.iterdump())


def without_chart_ids(svg: bytes) -> bytes:
    return re.sub(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", b"", svg)


def without_tokens(html: bytes) -> bytes:
    return re.sub(rb'name="csrf_token" type="hidden" value="[^"]+"', b"", html)


# Bodies made anew on each request: compared for what they say, not byte for byte.
SAME_CONTENT = {
    "sqlite export": dump,              # the same tables and rows
    "html page": without_tokens,        # the forms' CSRF tokens are new on each page
    "township page": without_tokens,
    "svg chart": without_chart_ids,     # pygal names each chart anew
}


def test_brotli_is_preferred_and_gzip_is_the_fallback(client, world):
    chrome = client.get("/login", headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert chrome.headers["Content-Encoding"] == "br"
    old_browser = client.get("/login", headers={"Accept-Encoding": "gzip, deflate"})
    assert old_browser.headers["Content-Encoding"] == "gzip"
    refuses = client.get("/login", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in refuses.headers


def test_small_bodies_and_binary_files_go_as_they_are(app, client, world):
    small = client.get("/api/me", headers={"Accept-Encoding": "gzip, br"})  # a 401 error of a few dozen bytes
    assert small.status_code == 401 and "Content-Encoding" not in small.headers
    phone = Phone(client, "sec1")
    nothing_new = client.post("/api/sync", json={"device": phone.device, "cursor": None, "ops": []},
                              headers={"Authorization": f"Bearer {phone.token}", "Accept-Encoding": "gzip, br"})
    assert nothing_new.status_code == 200 and len(nothing_new.get_data()) < 500
    assert "Content-Encoding" not in nothing_new.headers
    icon = client.get(current_static(app, "icons/icon-192.png"), headers={"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in icon.headers  # PNG is compressed already
    assert icon.get_data() == client.get(current_static(app, "icons/icon-192.png")).get_data()


def test_the_xlsx_report_is_not_compressed_twice(staff):
    path = "/township/reports/weekly?format=xlsx"
    packed = staff.get(path, headers={"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in packed.headers
    assert cells(packed.get_data()) == cells(staff.get(path).get_data())  # a zip, readable as it came


def cells(xlsx: bytes) -> list[tuple]:
    return list(openpyxl.load_workbook(io.BytesIO(xlsx)).active.iter_rows(values_only=True))


def test_a_byte_range_asked_of_a_file_gets_the_whole_file(app, client, world):
    """Ranges are not offered (no Accept-Ranges): a Range header gets the whole file, never a compressed slice."""
    path = current_static(app, "css/app.css")
    whole = client.get(path)
    assert "Accept-Ranges" not in whole.headers
    for headers in ({"Range": "bytes=0-99"}, {"Range": "bytes=0-99", "Accept-Encoding": "gzip"}):
        response = client.get(path, headers=headers)
        assert response.status_code == 200
        body = response.get_data()
        assert (gzip.decompress(body) if "Accept-Encoding" in headers else body) == whole.get_data()


def test_the_schema_revalidates_compressed(client):
    """The phone asks with the ETag it built from its copy; a browser's own cache asks with the compressed one."""
    first = client.get("/api/schema?lang=zh_CN", headers={"Accept-Encoding": "br"})
    assert first.status_code == 200 and first.headers["Content-Encoding"] == "br"
    body = json.loads(brotli.decompress(first.get_data()))
    kept = f'"{body["version"]}-{body["lang"]}"'
    for etag in (kept, first.headers["ETag"]):
        again = client.get("/api/schema?lang=zh_CN", headers={"Accept-Encoding": "br", "If-None-Match": etag})
        assert again.status_code == 304 and again.get_data() == b""
    changed = client.get("/api/schema?lang=zh_CN", headers={"Accept-Encoding": "br", "If-None-Match": '"old-zh_CN"'})
    assert changed.status_code == 200


@pytest.mark.parametrize("asset", [lambda app: current_module(app, "db.js"),
                                   lambda app: current_static(app, "css/app.css")])
def test_versioned_assets_revalidate_compressed(app, client, asset):
    path = asset(app)
    first = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200 and first.headers["Content-Encoding"] == "gzip"
    again = client.get(path, headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.headers["Cache-Control"] == IMMUTABLE


# ---------------------------------------------------------------- the phone's gzip body


def post_sync(client, phone, body: bytes, **headers):
    return client.post("/api/sync", data=body, content_type="application/json",
                       headers={"Authorization": f"Bearer {phone.token}", **headers})


def envelope(phone, ops) -> bytes:
    return json.dumps({"device": phone.device, "cursor": None, "ops": ops}, ensure_ascii=False).encode()


def journals(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Journal))


def test_a_gzip_sync_body_is_applied(app, client, world):
    phone = Phone(client, "sec1")
    ops = [journal(f"今天走访{i}户。") for i in range(20)]
    response = post_sync(client, phone, gzip.compress(envelope(phone, ops)),
                         **{"Content-Encoding": "gzip", "Accept-Encoding": "gzip, deflate, br"})
    assert response.status_code == 200 and response.headers["Content-Encoding"] == "br"
    answer = json.loads(brotli.decompress(response.get_data()))
    assert [r["status"] for r in answer["results"]] == ["applied"] * 20
    assert journals(app) == 20


def test_a_gzip_body_of_several_members_is_one_body(app, client, world):
    phone = Phone(client, "sec1")
    body = envelope(phone, [journal("两段压缩的日志")])
    two_members = gzip.compress(body[:30]) + gzip.compress(body[30:])
    assert post_sync(client, phone, two_members, **{"Content-Encoding": "gzip"}).status_code == 200
    assert journals(app) == 1


def gzip_bomb(prefix: bytes, inflated: int, suffix: bytes) -> bytes:
    """A valid gzip of `prefix`, spaces up to `inflated` bytes, `suffix`, made without the memory: a fully flushed
    block of a megabyte of spaces compresses the same every time, so it is repeated as compressed bytes."""
    spaces = b" " * MB
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    head = deflate.compress(prefix) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(spaces) + deflate.flush(zlib.Z_FULL_FLUSH)
    blocks = (inflated - len(prefix) - len(suffix)) // MB
    tail = deflate.compress(suffix) + deflate.flush()
    crc = zlib.crc32(prefix)
    for _ in range(blocks):
        crc = zlib.crc32(spaces, crc)
    size = len(prefix) + blocks * MB + len(suffix)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + head + block * blocks + tail + struct.pack("<II", zlib.crc32(suffix, crc), size & 0xFFFFFFFF)


def test_a_gzip_bomb_is_refused_without_inflating_it(app, client, world):
    """About 1 MB that inflates to 1 GB of valid JSON (a journal, then spaces): refused as too large, nothing
    applied, and the server holds little more than the 8 MB limit (about 12 MB), not the gigabyte."""
    phone = Phone(client, "sec1")
    whole = envelope(phone, [journal("炸弹里的日志")])
    bomb = gzip_bomb(whole[:-1], 1024 * MB, b"}")
    assert len(bomb) < 2 * MB
    tracemalloc.start()
    try:
        response = post_sync(client, phone, bomb, **{"Content-Encoding": "gzip"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "too_large"
    assert journals(app) == 0
    assert peak < 3 * app.config["MAX_CONTENT_LENGTH"], f"{peak / MB:.0f} MB held to refuse the bomb"


def test_a_body_just_inside_the_limit_once_inflated_is_taken(app, client, world):
    """The bound is on the inflated body, at the request limit: a body under it by a byte is read whole."""
    phone = Phone(client, "sec1")
    whole = envelope(phone, [journal("刚好八兆")])
    limit = app.config["MAX_CONTENT_LENGTH"]
    padded = whole[:-1] + b" " * (limit - len(whole)) + b"}"
    response = post_sync(client, phone, gzip.compress(padded), **{"Content-Encoding": "gzip"})
    assert response.status_code == 200 and journals(app) == 1
    over = whole[:-1] + b" " * (limit - len(whole) + 1) + b"}"
    refused = post_sync(client, phone, gzip.compress(over), **{"Content-Encoding": "gzip"})
    assert refused.status_code == 413 and refused.get_json()["error"]["code"] == "too_large"


@pytest.mark.parametrize("damage", [
    lambda packed: packed[:-20],                   # cut short
    lambda packed: packed[:12] + b"\x00" * 16 + packed[28:],  # corrupt deflate data
    lambda packed: packed[:-8] + b"\x00" * 8,      # wrong checksum
    lambda packed: b"not gzip at all",
    lambda packed: b"",
])
def test_a_corrupt_gzip_body_is_a_clear_400_and_applies_nothing(app, client, world, damage):
    phone = Phone(client, "sec1")
    packed = gzip.compress(envelope(phone, [journal("坏掉的压缩")]))
    response = post_sync(client, phone, damage(packed), **{"Content-Encoding": "gzip"})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_encoding"
    assert journals(app) == 0


@pytest.mark.parametrize("encoding", ["br", "deflate", "zstd", "gzip, gzip"])
def test_another_content_encoding_is_415(app, client, world, encoding):
    phone = Phone(client, "sec1")
    response = post_sync(client, phone, envelope(phone, [journal("别的压缩")]), **{"Content-Encoding": encoding})
    assert response.status_code == 415 and response.get_json()["error"]["code"] == "unsupported_encoding"
    assert journals(app) == 0


def test_a_gzip_login_is_taken_too(client, world):
    body = gzip.compress(json.dumps({"username": "sec1", "password": PASSWORD}).encode())
    response = client.post("/api/auth/token", data=body, content_type="application/json",
                           headers={"Content-Encoding": "gzip"})
    assert response.status_code == 201


# ---------------------------------------------------------------- UTF-8 JSON


CHINESE = re.compile(r"[\u4e00-\u9fff]")


def test_api_json_carries_chinese_as_utf8_never_escaped(app, client, world):
    phone = Phone(client, "sec1")
    text = "今天走访了五户贫困户，了解春耕情况。"
    pushed = phone.sync([journal(text)])
    bodies = {
        "sync": pushed.get_data(),
        "schema": client.get("/api/schema?lang=zh_CN").get_data(),
        "openapi": client.get("/api/openapi.json").get_data(),
        "me": client.get("/api/me", headers={"Authorization": f"Bearer {phone.token}"}).get_data(),
        "error": client.post("/api/sync", json={"ops": []}).get_data(),
    }
    for name, raw in bodies.items():
        assert b"\\u" not in raw, name
    assert text.encode() in bodies["sync"]
    assert CHINESE.search(bodies["schema"].decode())
    assert "一村" in bodies["me"].decode()


def test_the_shell_carries_its_strings_as_utf8_not_escaped(client, world):
    html = client.get("/field").get_data(as_text=True)  # the JavaScript's sentences are JSON inside the page
    assert "\\u" not in html and CHINESE.search(html)


# ---------------------------------------------------------------- caching


def test_versioned_assets_are_immutable_and_nothing_else_is(app, client, world):
    for path in (current_module(app, "field.js"), current_static(app, "css/app.css"),
                 current_static(app, "icons/icon-192.png"), current_static(app, "js/township-dispatch.js")):
        response = client.get(path, headers={"Accept-Encoding": "gzip, br"})
        assert response.status_code == 200 and response.headers["Cache-Control"] == IMMUTABLE, path
    for path in ("/sw.js", "/field", "/manifest.webmanifest", "/api/schema", "/static/css/app.css",
                 "/static/css/app.css?v=0123456789"):
        cache_control = client.get(path).headers.get("Cache-Control", "")
        assert "immutable" not in cache_control and "max-age" not in cache_control, path
    assert client.get("/sw.js").headers["Cache-Control"] == "no-cache"
    assert client.get("/field").headers["Cache-Control"] == "no-cache"


def test_another_versions_module_is_not_served_as_todays(app, client):
    """A page of an old release has every module in its worker's precache; from the server an old version's
    module is 404, never today's file under the old name (its imports would mix two releases)."""
    stale = client.get(f"/js/{'0' * 12}/db.js", headers={"Accept-Encoding": "gzip, br"})
    assert stale.status_code == 404 and "immutable" not in stale.headers.get("Cache-Control", "")
    assert client.get(current_module(app, "../__init__.py")).status_code == 404


def test_pages_describe_the_app_for_search_engines(client, world):
    for path in ("/login", "/field"):
        html = client.get(path).get_data(as_text=True)
        description = re.search(r'<meta name="description" content="([^"]+)">', html)
        assert description and len(description.group(1)) > 20, path


def test_static_serves_only_the_files_of_its_folder(app, client):
    for path in ("/static/%2e%2e/wire.py", "/static/..%2fwire.py", "/static/css", "/static/css/missing.css",
                 f"/js/{app.extensions['asset_version']}/%2e%2e/wire.py"):
        assert client.get(path, headers={"Accept-Encoding": "br"}).status_code == 404, path
