"""Bad input is a 400 or a rejected op, never a 500 (which a phone retries forever), on SQLite and PostgreSQL.

Each per-op case sends a good op beside the bad one: it must still apply and come back on a later pull.
"""
import base64
import io
import json
import os
import uuid

import pytest
from sqlalchemy import func, select, text

from app.extensions import db
from app.models import Journal, OpLog
from sync.engine import Actor, apply_ops
from sync.memory import MemoryStore

from .conftest import journal

MESSAGE_BOUND = 300  # characters: an error message echoing client input stays readable, not a copy of it


def count_journals(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Journal))


def post_raw(phone, path, data, content_length=None):
    headers = {"Authorization": f"Bearer {phone.token}", "Content-Type": "application/json"}
    overrides = {"CONTENT_LENGTH": str(content_length)} if content_length is not None else {}
    return phone.client.post(path, input_stream=io.BytesIO(data), headers=headers, environ_overrides=overrides)


def error_code(response):
    assert response.is_json, response.get_data(as_text=True)[:200]
    return response.get_json()["error"]["code"]


def assert_bad_op_rejected_and_good_applied(sec1, bad, code):
    good = journal("旁边的好记录")
    response = sec1.sync([bad, good])
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    rejected, applied = response.get_json()["results"]
    assert rejected["status"] == "rejected" and rejected["error"]["code"] == code
    assert len(rejected["error"]["message"]) <= MESSAGE_BOUND
    assert applied == {"op": good["op"], "status": "applied", "version": 1}
    sec1.cursor = None
    pulled = sec1.sync().get_json()["changes"]
    assert [(c["id"], c["fields"]["text"]) for c in pulled] == [(good["id"], "旁边的好记录")]
    return rejected


@pytest.mark.parametrize("base", [2**31, 2**63, 10**40, -(2**63) - 1])
def test_a_base_beyond_the_integer_column_is_rejected_alone(phone, base):
    assert_bad_op_rejected_and_good_applied(phone("sec1"), journal("改", base=base), "bad_base")


@pytest.mark.parametrize("key, value, code", [
    ("type", "jour\x00nal", "unknown_type"),
    ("id", str(uuid.uuid4())[:35] + "\x00", "bad_id"),
    ("at", "2026-11-20T09:30:00\x00", "bad_op"),
])
def test_a_nul_in_type_id_or_at_is_rejected_alone(phone, key, value, code):
    assert_bad_op_rejected_and_good_applied(phone("sec1"), journal("坏") | {key: value}, code)


def test_a_nul_in_a_field_name_is_rejected_alone(app, phone):
    bad = journal("坏")
    bad["set"]["te\x00xt"] = "x"
    rejected = assert_bad_op_rejected_and_good_applied(phone("sec1"), bad, "unknown_field")
    assert "\x00" not in rejected["error"]["message"]
    with app.app_context():  # a payload with a NUL is logged as a digest, whatever its size
        assert db.session.get(OpLog, bad["op"]).changes["digest"]["fields"] == ["te\\x00xt", "text"]


def test_a_nul_in_an_op_key_is_rejected_alone(phone):
    rejected = assert_bad_op_rejected_and_good_applied(phone("sec1"), journal("坏") | {"ty\x00pe": 1}, "bad_op")
    assert "\x00" not in rejected["error"]["message"]


def test_a_replayed_nul_op_is_a_duplicate_of_its_rejection(phone):
    sec1 = phone("sec1")
    bad = journal("坏") | {"type": "\x00"}
    first = sec1.sync([bad]).get_json()["results"][0]
    again = sec1.sync([bad]).get_json()["results"][0]
    assert first["status"] == "rejected"
    assert (again["status"], again["outcome"], again["error"]["code"]) == ("duplicate", "rejected", "unknown_type")


@pytest.mark.parametrize("record_id", ["%00", "a%00b", "0" * 35 + "%00"])
def test_a_nul_in_a_history_path_is_a_400(phone, record_id):
    sec1 = phone("sec1")
    response = sec1.client.get(f"/api/history/journal/{record_id}", headers={"Authorization": f"Bearer {sec1.token}"})
    assert response.status_code == 400 and error_code(response) == "bad_id"


def test_a_nul_in_a_revoked_device_id_is_a_400(phone):
    staff1 = phone("staff1")
    response = staff1.client.post("/api/devices/%00/revoke", headers={"Authorization": f"Bearer {staff1.token}"})
    assert response.status_code == 400 and error_code(response) == "bad_id"


def test_a_well_formed_unknown_device_is_still_a_404(phone):
    staff1 = phone("staff1")
    response = staff1.client.post(f"/api/devices/{uuid.uuid4()}/revoke",
                                  headers={"Authorization": f"Bearer {staff1.token}"})
    assert response.status_code == 404 and error_code(response) == "not_found"


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_json_nested_deeply_is_a_400_and_applies_nothing(app, phone, depth):
    sec1 = phone("sec1")
    deep = "[" * depth + "]" * depth
    ops = [journal("好"), journal("深")]
    body = json.dumps({"device": sec1.device, "ops": ops}, ensure_ascii=False).replace('"深"', deep)
    assert deep in body
    response = post_raw(sec1, "/api/sync", body.encode())
    assert response.status_code == 400 and error_code(response) == "bad_json"
    assert count_journals(app) == 0


def test_json_nested_a_little_is_still_an_ordinary_rejection(phone):
    nested = json.loads("[" * 10 + "]" * 10)
    assert_bad_op_rejected_and_good_applied(phone("sec1"), journal(nested), "invalid_value")


@pytest.mark.parametrize("body", [b"[]", b"42", b'"sec1"', b"null", b"[{\"username\": \"sec1\"}]"])
def test_a_token_request_that_is_not_an_object_is_a_400(client, world, body):
    response = client.post("/api/auth/token", data=body, content_type="application/json")
    assert response.status_code == 400 and error_code(response) == "bad_request"


@pytest.mark.parametrize("path", ["/api/sync", "/api/auth/token"])
def test_a_body_cut_short_is_a_400_and_applies_nothing(app, phone, path):
    sec1 = phone("sec1")
    body = json.dumps({"device": sec1.device, "ops": [journal("断了")]} if path == "/api/sync"
                      else {"username": "sec1", "password": "correct-horse-1"}).encode()
    response = post_raw(sec1, path, body, content_length=len(body) + 1000)
    assert response.status_code == 400 and error_code(response) == "incomplete_body"
    assert count_journals(app) == 0


def test_a_complete_body_sent_raw_still_syncs(phone):
    """The cut-short test's way of sending works for a whole body: it is the length that matters."""
    sec1 = phone("sec1")
    body = json.dumps({"device": sec1.device, "ops": [journal("完整")]}).encode()
    response = post_raw(sec1, "/api/sync", body, content_length=len(body))
    assert response.status_code == 200 and response.get_json()["results"][0]["status"] == "applied"


def database_bytes(app) -> int:
    """What the database occupies on disk: the SQLite file after a checkpoint (WAL folded in and truncated),
    or the sum over the test schema's tables (with their indexes and TOAST) on PostgreSQL."""
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            with db.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            path = db.engine.url.database
            return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
        return db.session.scalar(text(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'"))


# A good journal and two op-log rows touch a page or two of each table and index (4 KB pages on SQLite, which
# often reuses free pages left by the migrations; 8 KB on PostgreSQL: 72 KB measured). The rejected payload
# stored whole would take 7 MB on both (random base64 barely compresses), so 256 KB tells the two apart with
# room for page splits and a TOAST index page.
GROWTH_BOUND = 256 * 1024


def test_a_rejected_7_mb_journal_is_logged_as_a_digest(app, phone):
    """Just under the request limit (MAX_CONTENT_LENGTH, 8 MB): refused as too long, logged as a digest."""
    sec1 = phone("sec1")
    huge = base64.b64encode(os.urandom(5_250_000)).decode()  # 7,000,000 characters that do not compress
    before = database_bytes(app)
    bad = journal(huge)
    rejected = assert_bad_op_rejected_and_good_applied(sec1, bad, "too_long")
    grown = database_bytes(app) - before
    assert grown < GROWTH_BOUND, f"the database grew by {grown} bytes"
    with app.app_context():
        logged = db.session.get(OpLog, bad["op"])
        assert logged.status == "rejected" and logged.error_code == "too_long"
        assert logged.changes["digest"]["bytes"] > 7_000_000 and logged.changes["digest"]["fields"] == ["text"]
        assert len(json.dumps(logged.changes)) < 1000
    assert rejected["error"]["field"] == "text"


def test_a_small_rejected_op_is_logged_whole(app, phone):
    """A refused decision stays on record as it was sent; only what is over the bound becomes a digest."""
    bad = journal("坏", visits="many")
    assert_bad_op_rejected_and_good_applied(phone("sec1"), bad, "invalid_value")
    with app.app_context():
        logged = db.session.get(OpLog, bad["op"])
        assert (logged.status, logged.changes) == ("rejected", {"text": "坏", "visits": "many"})


def test_a_rejected_op_with_many_long_field_names_logs_a_bounded_digest(app, phone):
    bad = journal("坏")
    bad["set"] |= {f"field_{n}_" + "x" * 10_000: n for n in range(200)}
    assert_bad_op_rejected_and_good_applied(phone("sec1"), bad, "unknown_field")
    with app.app_context():
        logged = db.session.get(OpLog, bad["op"])
        assert len(json.dumps(logged.changes)) < 4000 and len(logged.error_message) <= MESSAGE_BOUND
        assert logged.changes["digest"]["field_count"] == 201


@pytest.mark.parametrize("change, code", [
    ({"type": "x" * 100_000}, "unknown_type"),
    ({"set": {"y" * 100_000: 1}}, "unknown_field"),
    ({"z" * 100_000: 1}, "bad_op"),
    ({"unit": "V" * 100_000}, "bad_op"),
])
def test_messages_that_echo_client_input_are_bounded(phone, change, code):
    assert_bad_op_rejected_and_good_applied(phone("sec1"), journal("坏") | change, code)


def test_an_unknown_envelope_key_is_echoed_bounded(phone):
    response = phone("sec1").sync(**{"k" * 100_000: 1, "\x00": 2})
    assert response.status_code == 400 and error_code(response) == "bad_envelope"
    assert len(response.get_json()["error"]["message"]) <= MESSAGE_BOUND


def test_the_memory_store_logs_a_rejected_op_as_a_digest_too():
    store = MemoryStore(units={"V": 1}, users={"sec": 1})
    actor = Actor(user_id=1, role="secretary", home_unit_id=1, village_ids=frozenset({1}), username="sec")
    bad = journal("x" * 30_000)
    [result] = apply_ops(store, actor, [bad])
    assert result["error"]["code"] == "too_long"
    logged = store.oplog[bad["op"]]
    assert "x" * 100 not in json.dumps(logged, default=str) and logged["set"]["digest"]["fields"] == ["text"]
