"""One boundary for residents' personal data (issue 10): templates and exports get masked views, never rows.

Every template of the project is rendered (the list comes from the templates folder, so a new one cannot be
forgotten) for township users, over a village whose resident request holds a full name and mobile number, also
in a conflict and in the history; the pages and the exports must show only the masked form. While they render,
every template's context is searched for ORM rows of a synced record or of a user: a template handed one could
print a name unmasked however carefully the views mask it.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import sqlite3
import uuid
from contextlib import contextmanager

import pytest
from flask import template_rendered
from flask_sqlalchemy.pagination import Pagination
from jinja2 import meta
from openpyxl import load_workbook
from sqlalchemy import select

from app import sync_service
from app.extensions import db
from app.models import SYNCED_MODELS, Request, Task, Unit, User
from app.township.records import RecordView
from tests.conftest import PASSWORD, WORLD_ITEMS

RESIDENT = "张三丰"
RIVAL_NAME = "张三峰"          # the other side of the conflict on the name
CONTACT = "13812345678"
SECRETS = (RESIDENT, RIVAL_NAME, "张三", CONTACT)
MASKED_NAME, MASKED_CONTACT = "张**", "138****5678"
TOWNSHIP_USERS = ("staff1", "approver1", "admin")

# Templates no township user can be shown, with the reason. Every other template is rendered below, or is a
# part (extended, imported, included) of one that is.
NOT_FOR_TOWNSHIP = {
    "auth/login.html": "the login form: nobody is logged in yet, so no record can be on it",
    "field/home.html": "the phone's shell for the village's own users; a township user is sent to /township",
    "offline.html": "the service worker's offline page, fetched without cookies: no user, no record",
    "auth/too_many_attempts.html": "the login's answer to password guessing: nobody is logged in",
}


# ---------------------------------------------------------------- what a template may be handed

FORBIDDEN = (*SYNCED_MODELS.values(), User)


def handed_rows(context: dict) -> list[tuple[str, str]]:
    """(where in the context, type) of every ORM row of a synced record or a user a template was handed:
    in containers, dataclasses, paginations and the project's own objects, at any depth. Other mapped
    rows (a unit, a work item, a review mark) hold nobody's personal data and are not searched further.
    `current_user` is the viewer's own account, which the layout names."""
    found: list[tuple[str, str]] = []
    seen: set[int] = set()

    def walk(value, path: str) -> None:
        if isinstance(value, FORBIDDEN):
            found.append((path, type(value).__name__))
            return
        if id(value) in seen or isinstance(value, (str, bytes, int, float, type)) or value is None:
            return
        seen.add(id(value))
        if hasattr(type(value), "__mapper__"):
            return
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                walk(item, path)
        elif dataclasses.is_dataclass(value):
            for f in dataclasses.fields(value):
                walk(getattr(value, f.name), f"{path}.{f.name}")
        elif isinstance(value, Pagination) or type(value).__module__.startswith(("app.", "tests.")):
            for key, item in vars(value).items():
                walk(item, f"{path}.{key}")

    walk({key: value for key, value in context.items() if key != "current_user"}, "")
    return found


def test_handed_rows_finds_a_row_however_deep_it_is_wrapped(app, world):
    with app.test_request_context():
        user = db.session.scalar(select(User).where(User.username == "sec1"))
        request_row = Request(id=str(uuid.uuid4()), unit_id=user.unit_id, resident_name=RESIDENT)

        @dataclasses.dataclass
        class Wrapper:
            inner: object

        class Page(Pagination):
            def _query_items(self):
                return [request_row]

            def _query_count(self):
                return 1

        assert handed_rows({"items": [Wrapper({"r": request_row})]}) == [("items.inner.r", "Request")]
        assert handed_rows({"page": Page(page=1, per_page=5, error_out=False)}) == [("page.items", "Request")]
        assert handed_rows({"people": (user,), "current_user": user}) == [("people", "User")]
        assert handed_rows({"unit": db.session.get(Unit, user.unit_id), "n": 3, "views": [Wrapper("x")]}) == []


# ---------------------------------------------------------------- a village with a resident's request

def submit(app, username, *ops):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        results = sync_service.submit(user, list(ops))
    for result in results:
        assert result["status"] in ("applied", "merged"), result
    return results


def op(rtype, record_id=None, base=None, unit=None, **fields):
    new = {"op": str(uuid.uuid4()), "type": rtype, "id": record_id or str(uuid.uuid4()), "base": base,
           "set": fields}
    if unit:
        new["unit"] = unit
    return new


def create(app, username, rtype, unit=None, **fields) -> str:
    new = op(rtype, unit=unit, **fields)
    submit(app, username, new)
    return new["id"]


def version(app, model, record_id) -> int:
    with app.app_context():
        return db.session.get(model, record_id).version


def change(app, username, model, record_id, **fields):
    rtype = next(t for t, m in SYNCED_MODELS.items() if m is model)
    submit(app, username, op(rtype, record_id, version(app, model, record_id), **fields))


@pytest.fixture
def scene(app, world):
    """Every kind of record of 一村 (V11) around one resident's request: the request (its name changed on
    both sides: a conflict, and history), its meeting and problem, a journal, a comment thread; dispatches
    approved and flagged, returned to their author, pending, and one whose item then left the county's list."""
    ids = {"meeting": create(app, "sec1", "meeting", topic="党群议事亭茶话", place="村口凉亭", attendance=12),
           "problem": create(app, "sec1", "problem", title="垃圾池满了", urgent=True),
           "journal": create(app, "sec1", "journal", text="走访了三户人家", visits=3)}
    ids["request"] = create(app, "sec1", "request", content="垃圾池满了没人清", resident_name=RESIDENT,
                            resident_contact=CONTACT, meeting_id=ids["meeting"], problem_id=ids["problem"],
                            livelihood_project=True, category="环境")
    submit(app, "cadre1", op("request", ids["request"], 1, resident_name=RIVAL_NAME))
    submit(app, "sec1", op("request", ids["request"], 1, resident_name=RESIDENT))
    ids["village_task"] = create(app, "sec1", "task", title="村里自己的任务")

    dispatch = str(uuid.uuid4())
    ids["approved"] = create(app, "staff1", "task", unit="V11", title="村内垃圾清运点排查", item_code="SX-101",
                             dispatch_id=dispatch, due="2030-03-14")
    ids["returned"] = create(app, "staff1", "task", unit="V12", title="村内垃圾清运点排查", item_code="SX-101",
                             dispatch_id=dispatch, due="2030-03-14")
    ids["pending"] = create(app, "staff1", "task", unit="V11", title="森林防火巡查", item_code="SX-108")
    ids["repeat"] = create(app, "staff1", "task", unit="V11", title="森林防火巡查", item_code="SX-108")
    change(app, "approver1", Task, ids["approved"], gate="approved")
    change(app, "approver1", Task, ids["returned"], gate="returned", gate_reason="请写明清运点数量")
    change(app, "sec1", Task, ids["approved"], flag="burden", flag_note="村里人手不够")

    comment = create(app, "staff1", "review", target_type="request", target_id=ids["request"],
                     comment="请尽快答复群众", decision="follow_up")
    create(app, "sec1", "review", target_type="request", target_id=ids["request"], comment="已联系", reply_to=comment)

    with app.app_context():
        from app.worklist import service as worklist
        county = db.session.get(Unit, world["C"])
        worklist.apply(county, worklist.plan(county, [dict(i) for i in WORLD_ITEMS if i["code"] != "SX-108"]),
                       None, "test")
        db.session.commit()
        stored = db.session.get(Request, ids["request"])
        assert (stored.resident_name, stored.resident_contact) == (RESIDENT, CONTACT)   # the secret is there
        assert stored.conflicts
    return ids


# ---------------------------------------------------------------- rendering every template

def login(client, username):
    client.post("/logout")
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


@contextmanager
def rendered(app):
    """[(template name, context)] of every template rendered meanwhile."""
    seen: list[tuple[str, dict]] = []

    def record(sender, template, context, **extra):
        seen.append((template.name, dict(context)))

    template_rendered.connect(record, app)
    try:
        yield seen
    finally:
        template_rendered.disconnect(record, app)


def pages(ids) -> list[tuple[str, str, int]]:
    """(user, path, status) of the township's pages, each of its templates at least once."""
    records = [f"/township/records/{rtype}/{ids[key]}" for rtype, key in (
        ("request", "request"), ("meeting", "meeting"), ("problem", "problem"), ("journal", "journal"),
        ("task", "village_task"), ("task", "approved"), ("task", "returned"), ("task", "pending"))]
    everyone = ["/township/journals", "/township/problems", "/township/requests", "/township/meetings",
                "/township/tasks", "/township/villages", "/township/devices", "/township/review",
                "/township/approvals", "/township/reports/weekly", "/township/reports/weekly?by=township",
                "/worklist", "/worklist/items/SX-101", "/worklist/items/SX-108", "/worklist/stats", "/reports/monthly", "/reports/monthly?village=V11", *records]
    out = [(user, path, 200) for user in TOWNSHIP_USERS for path in everyone]
    out += [("staff1", "/township/dispatch", 200), ("staff1", f"/township/dispatch/{ids['returned']}/revise", 200),
            ("approver1", "/township/dispatch", 200), ("admin", "/worklist/import", 200),
            ("staff1", f"/township/records/request/{uuid.uuid4()}", 404)]
    return out


SHOWS_THE_RESIDENT = ("/township/requests", "/township/records/request/", "/township/records/meeting/",
                      "/township/records/problem/")


def assert_masked(where: str, body: str) -> None:
    for secret in SECRETS:
        assert secret not in body, (where, secret)


def preview_upload(client):
    """The admin's import preview (worklist/preview.html): a file that changes one item's name."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["code", "name", "basis", "department", "effort_hours", "status"])
    for item in WORLD_ITEMS:
        writer.writerow([item["code"], item["name"] + ("（新）" if item["code"] == "SX-042" else ""), item["basis"],
                         item["department"], item["effort_hours"], item["status"]])
    return client.post("/worklist/import", data={"file": (io.BytesIO(out.getvalue().encode()), "list.csv")},
                       content_type="multipart/form-data")


def test_every_template_shows_residents_masked_and_is_handed_no_rows(app, client, scene):
    with rendered(app) as seen:
        for user, path, status in pages(scene):
            login(client, user)
            response = client.get(path)
            assert response.status_code == status, (user, path, response.status_code)
            body = response.get_data(as_text=True)
            assert_masked(f"{user} {path}", body)
            if status == 200 and path.startswith(SHOWS_THE_RESIDENT):
                assert MASKED_NAME in body and MASKED_CONTACT in body, (user, path)
        login(client, "admin")
        response = preview_upload(client)
        assert response.status_code == 200 and 'name="digest"' in response.get_data(as_text=True)

    names = {name for name, _context in seen}
    env = app.jinja_env
    parts, queue = set(), list(names)
    while queue:
        source = env.loader.get_source(env, queue.pop())[0]
        for used in meta.find_referenced_templates(env.parse(source)):
            if used and used not in parts:
                parts.add(used)
                queue.append(used)
    forgotten = [name for name in app.jinja_loader.list_templates()
                 if name not in names | parts | set(NOT_FOR_TOWNSHIP)]
    assert not forgotten, f"no page above renders {forgotten}: add one to pages(), or a reason to NOT_FOR_TOWNSHIP"
    assert not set(NOT_FOR_TOWNSHIP) & names, "a template listed as not for the township was rendered for it"

    leaks = [f"{name}: {where} is a {kind} row" for name, context in seen for where, kind in handed_rows(context)]
    assert not leaks, "templates handed ORM rows:\n" + "\n".join(sorted(set(leaks)))


# ---------------------------------------------------------------- exports

def test_the_exports_hold_only_the_masked_values(app, client, scene, tmp_path):
    for user in TOWNSHIP_USERS:
        login(client, user)
        response = client.get("/township/export.sqlite")
        assert response.status_code == 200
        body = response.data
        for secret in SECRETS:
            assert secret.encode() not in body, (user, secret)
        path = tmp_path / f"{user}.sqlite"
        path.write_bytes(body)
        with sqlite3.connect(path) as conn:
            row = conn.execute("SELECT resident_name, resident_contact, village, author FROM requests WHERE id = ?",
                               (scene["request"],)).fetchone()
        assert row == (MASKED_NAME, MASKED_CONTACT, "V11", "sec1"), user

        for query in ("", "&by=township"):
            text = client.get(f"/township/reports/weekly?format=csv{query}").get_data(as_text=True)
            assert_masked(f"{user} csv", text)
            book = load_workbook(io.BytesIO(client.get(f"/township/reports/weekly?format=xlsx{query}").data))
            cells = " ".join(str(c.value) for sheet in book for line in sheet.iter_rows() for c in line)
            assert_masked(f"{user} xlsx", cells)
        for chart in ("/township/charts/activity.svg", "/township/charts/problems.svg",
                      "/worklist/stats?format=csv", "/worklist/stats?format=csv&by=sender"):
            response = client.get(chart)
            assert response.status_code == 200, chart
            assert_masked(f"{user} {chart}", response.get_data(as_text=True))


def test_a_view_holds_plain_values_only(app, scene):
    """RecordView is what templates and exports get: no attribute of it may be a row."""
    from app.township import records
    with app.test_request_context():
        user = db.session.scalar(select(User).where(User.username == "staff1"))
        row = db.session.get(Request, scene["request"])
        item = records.view(records.actor_of(user), "request", row)
        assert isinstance(item, RecordView)
        assert handed_rows({"item": item}) == []
        assert (item.fields["resident_name"], item.fields["resident_contact"]) == (MASKED_NAME, MASKED_CONTACT)
        assert {c.field: (c.kept, c.lost) for c in item.conflicts} == {"resident_name": (MASKED_NAME, MASKED_NAME)}
        assert (item.village_name, item.village_code, item.author, item.editor) == ("一村", "V11", "sec1", "sec1")
        assert records.actor_of(user) is records.actor_of(user)          # one actor per request
