"""The county's work-item list at the township: browsing and search, an item's history and open tasks,
the admin's import (upload → preview → confirm), and the gate's monthly figures. SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from app import sync_service
from app.extensions import db
from app.models import Task, Unit, User, WorkItem, WorkItemChange
from app.worklist import service
from app.worklist.stats import Month
from tests.conftest import PASSWORD, WORLD_ITEMS, on_both_databases


database_url = on_both_databases()


@pytest.fixture(autouse=True)
def own_instance(request, tmp_path):
    """Uploads go under the instance folder: each test has its own."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app").instance_path = str(tmp_path / "instance")
    return tmp_path / "instance" / "worklist-uploads"


# ---------------------------------------------------------------- helpers

def login(client, username):
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    # The Chinese strings of these pages are merged into the catalogue by the lead; assert on English.
    client.set_cookie("lang", "en")


def page(client, path, status=200):
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    return response.get_data(as_text=True)


def user(username) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def submit(app, username, op):
    with app.app_context():
        return sync_service.submit(user(username), [op])[0]


def send(app, username, village, **fields):
    """A township task through the one write path; returns its id."""
    task_id = str(uuid.uuid4())
    result = submit(app, username, {"op": str(uuid.uuid4()), "type": "task", "id": task_id, "base": None,
                                    "unit": village, "set": {"title": "任务", **fields}})
    assert result["status"] == "applied", result
    return task_id


def change(app, username, task_id, **fields):
    with app.app_context():
        version = db.session.get(Task, task_id).version
    result = submit(app, username, {"op": str(uuid.uuid4()), "type": "task", "id": task_id, "base": version,
                                    "set": fields})
    assert result["status"] in ("applied", "merged"), result
    return result


def item_row(app, code) -> dict:
    with app.app_context():
        item = db.session.scalar(select(WorkItem).where(WorkItem.code == code))
        return service.snapshot(item) if item else None


def list_state(app) -> list[dict]:
    with app.app_context():
        return [service.snapshot(i) for i in db.session.scalars(select(WorkItem).order_by(WorkItem.code))]


def row_ids(html, prefix):
    return re.findall(r'<tr id="' + prefix + r'-([^"]+)"', html)


def to_csv(rows) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


HEADER = ["编码", "事项名称", "依据", "责任部门", "预计工时", "状态"]


def world_rows(**changes):
    """The world's list as file rows, with some items replaced (a dict) or left out (None)."""
    rows = []
    for item in WORLD_ITEMS:
        new = changes.get(item["code"], item)
        if new is None:
            continue
        new = {**item, **new}
        status = {"active": "有效", "retired": "已退出", "cancelled": "已取消"}[new["status"]]
        rows.append([new["code"], new["name"], new["basis"], new["department"], new["effort_hours"], status])
    return rows


def upload(client, data: bytes, filename="list.csv"):
    return client.post("/worklist/import", data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def confirm_fields(html) -> dict:
    upload_id = re.search(r'name="upload" type="hidden" value="([^"]+)"', html).group(1)
    digest = re.search(r'name="digest" type="hidden" value="([^"]+)"', html).group(1)
    return {"upload": upload_id, "digest": digest}


# ---------------------------------------------------------------- browsing

def test_the_list_is_browsable_and_searchable(client, world):
    login(client, "staff1")
    html = page(client, "/worklist")
    assert row_ids(html, "item") == ["SX-042", "SX-101", "SX-108", "SX-190", "SX-201"]   # code order
    assert "《森林防火条例》第二十条" in html and "县林业局" in html and "On the cancelled list" in html
    assert 'href="/worklist/items/SX-042"' in html
    assert 'id="import-link"' not in html                                               # staff do not import

    assert row_ids(page(client, "/worklist?q=防火"), "item") == ["SX-108"]
    assert row_ids(page(client, "/worklist?q=sx-10"), "item") == ["SX-101", "SX-108"]   # code, any case
    assert row_ids(page(client, "/worklist?q=县民政局+优待"), "item") == ["SX-042"]         # every word
    assert row_ids(page(client, "/worklist?status=cancelled"), "item") == ["SX-201"]
    assert row_ids(page(client, "/worklist?status=active"), "item") == ["SX-042", "SX-101", "SX-108"]
    assert row_ids(page(client, "/worklist?status=retired&q=电影"), "item") == ["SX-190"]
    empty = page(client, "/worklist?q=没有这个事项")
    assert row_ids(empty, "item") == [] and "No item matches." in empty
    assert row_ids(page(client, "/worklist?status=bogus"), "item") == row_ids(html, "item")  # ignored


def test_who_may_see_the_list(client, world):
    response = client.get("/worklist")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(client, "sec1")
    for path in ("/worklist", "/worklist/items/SX-042", "/worklist/stats"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" not in response.headers["Location"], path  # the phone
    for username in ("approver1", "admin"):
        login(client, username)
        assert row_ids(page(client, "/worklist"), "item")
    assert 'id="import-link"' in page(client, "/worklist")                              # the admin does


def test_an_item_shows_its_history_and_the_open_tasks_that_use_it(app, client, world):
    done = send(app, "approver1", "V11", item_code="SX-042", title="已办完")   # the approver's own: approved
    change(app, "sec1", done, status="done", note="办好了")
    pending = send(app, "staff1", "V11", item_code="SX-042")                 # staff: waits for the approver
    approved = send(app, "approver1", "V12", item_code="SX-042")
    other_township = send(app, "staff2", "V21", item_code="SX-042")
    with app.app_context():
        county = db.session.scalar(select(Unit).where(Unit.code == "C"))
        items = [dict(i) for i in WORLD_ITEMS]
        items[0] = {**items[0], "effort_hours": 4.0, "department": "县民政局老龄办"}
        service.apply(county, service.plan(county, items), user("admin").id, "upload:second.csv")
        db.session.commit()

    login(client, "staff1")
    html = page(client, "/worklist/items/SX-042")
    assert "办理老年优待证" in html and "《老年人权益保障法》第五十七条" in html
    history = html[html.index('id="history"'):]
    entries = re.findall(r'<li class="tw-entry" id="change-\d+">(.*?)</li>\s*(?=<li class="tw-entry"|</ol>)',
                         history, re.S)
    assert len(entries) == 2                                                     # newest first
    assert "Updated" in entries[0] and "upload:second.csv" in entries[0] and "admin" in entries[0]
    assert "<del>3</del> → <ins>4</ins>" in entries[0] and "<del>县民政局</del> → <ins>县民政局老龄办</ins>" in entries[0]
    assert "Added" in entries[1] and "(test)" in entries[1]
    tasks = html[html.index('id="open-tasks"'):html.index('id="history"')]
    assert set(row_ids(tasks, "task")) == {pending, approved}                    # not done, not another township's
    assert "Awaiting approval" in tasks and "Approved" in tasks

    login(client, "admin")
    tasks = page(client, "/worklist/items/SX-042")
    assert set(row_ids(tasks, "task")) == {pending, approved, other_township}
    assert 'id="no-open-tasks"' in page(client, "/worklist/items/SX-101")
    page(client, "/worklist/items/NOPE", status=404)


# ---------------------------------------------------------------- the admin's import

def test_upload_preview_then_confirm_applies_the_plan(app, client, world, own_instance):
    login(client, "admin")
    assert 'enctype="multipart/form-data"' in page(client, "/worklist/import")
    before = list_state(app)
    rows = world_rows(**{"SX-042": {"name": "办理老年人优待证"}, "SX-108": None}) + [
        ["SX-300", "村级公益设施维护", "县财政局文件", "县财政局", "2", "有效"]]
    response = upload(client, to_csv([HEADER] + rows))
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:2000]
    assert list_state(app) == before                                             # a preview changes nothing
    assert row_ids(html, "added") == ["SX-300"] and row_ids(html, "updated") == ["SX-042"]
    assert row_ids(html, "retired") == ["SX-108"]
    assert "<del>办理老年优待证</del> → <ins>办理老年人优待证</ins>" in html
    summary = html[html.index('id="plan-summary"'):html.index("</ul>", html.index('id="plan-summary"'))]
    assert "1 item added" in summary and "1 item updated" in summary and "1 item retired" in summary
    assert "3 items unchanged" in summary
    assert len(list(own_instance.glob("*.bin"))) == 1                            # the bytes are kept

    response = client.post("/worklist/import/confirm", data=confirm_fields(html))
    assert response.status_code == 302 and response.headers["Location"].endswith("/worklist")
    assert item_row(app, "SX-300")["name"] == "村级公益设施维护"
    assert item_row(app, "SX-042")["name"] == "办理老年人优待证"
    assert item_row(app, "SX-108")["status"] == "retired"
    assert item_row(app, "SX-201")["status"] == "cancelled"
    with app.app_context():
        changes = list(db.session.scalars(select(WorkItemChange).where(WorkItemChange.source == "upload:list.csv")))
        assert sorted(c.action for c in changes) == ["added", "retired", "updated"]
        assert {c.by_user for c in changes} == {user("admin").id} and len({c.import_id for c in changes}) == 1
    assert list(own_instance.glob("*")) == []                                   # the upload is gone
    assert "flash-success" in page(client, "/worklist")

    after = list_state(app)
    again = client.post("/worklist/import/confirm", data=confirm_fields(html), follow_redirects=True)
    assert "no longer here" in again.get_data(as_text=True) and list_state(app) == after


def test_an_xlsx_list_is_read_too(app, client, world):
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in world_rows(**{"SX-101": {"effort_hours": 10}}):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    login(client, "admin")
    html = upload(client, out.getvalue(), "清单.xlsx").get_data(as_text=True)
    assert row_ids(html, "updated") == ["SX-101"] and "<del>8</del> → <ins>10</ins>" in html
    assert client.post("/worklist/import/confirm", data=confirm_fields(html)).status_code == 302
    assert item_row(app, "SX-101")["effort_hours"] == 10


def test_a_bad_file_shows_every_error_by_row_and_column_and_changes_nothing(app, client, world, own_instance):
    login(client, "admin")
    before = list_state(app)
    rows = [HEADER, ["SX-042", "办理老年优待证", "", "", "3", "有效"],
            ["SX-500", "", "", "", "2", "有效"],                   # row 3: no name
            ["SX-501", "事项", "", "", "很多", "有效"],             # row 4: hours not a number
            ["SX-042", "重复", "", "", "1", "有效"],                # row 5: code already on row 2
            ["SX 502", "事项", "", "", "1", "作废"]]                # row 6: a space in the code, an unknown status
    response = upload(client, to_csv(rows))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    cell = r'\s*<td[^>]*>([^<]*)</td>'
    errors = re.findall(r'<tr class="tw-row-error">' + cell * 3, html)
    assert [(row, column) for row, column, _ in errors] == [("3", "事项名称"), ("4", "预计工时"), ("5", "编码"),
                                                            ("6", "编码"), ("6", "状态")]
    assert "This cell must not be empty." in html and "already on row 2" in html
    assert "5 errors; nothing was changed" in html
    assert 'id="confirm-form"' not in html
    assert list_state(app) == before and not list(own_instance.glob("*.bin"))

    unreadable = upload(client, to_csv([["code", "标题"], ["SX-1", "x"]]))
    assert unreadable.status_code == 400 and "missing: name" in unreadable.get_data(as_text=True)
    wrong_kind = upload(client, b"\x00\x01", "list.pdf")
    assert wrong_kind.status_code == 400 and ".csv or .xlsx" in wrong_kind.get_data(as_text=True)
    assert list_state(app) == before and not list(own_instance.glob("*.bin"))


def test_a_file_over_two_megabytes_is_refused_with_a_message(app, client, world, own_instance):
    login(client, "admin")
    response = upload(client, b"code,name\n" + b"x" * (2 * 1024 * 1024 + 10))
    assert response.status_code == 413
    assert "larger than 2 MB" in response.get_data(as_text=True)
    assert not own_instance.exists() or not list(own_instance.glob("*.bin"))


def test_confirm_is_refused_when_the_list_changed_after_the_preview(app, client, world):
    login(client, "admin")
    rows = world_rows() + [["SX-300", "新事项", "", "", "1", "有效"]]
    html = upload(client, to_csv([HEADER] + rows)).get_data(as_text=True)
    with app.app_context():                                                     # meanwhile, another import
        county = db.session.scalar(select(Unit).where(Unit.code == "C"))
        items = [{**i, "name": "改过的名称"} if i["code"] == "SX-101" else dict(i) for i in WORLD_ITEMS]
        service.apply(county, service.plan(county, items), None, "cli:other.csv")
        db.session.commit()
    state = list_state(app)
    response = client.post("/worklist/import/confirm", data=confirm_fields(html))
    refused = response.get_data(as_text=True)
    assert response.status_code == 409 and "nothing was imported" in refused
    assert list_state(app) == state and item_row(app, "SX-300") is None
    assert row_ids(refused, "updated") == ["SX-101"]                             # the new preview
    # Confirming the new preview applies it.
    assert client.post("/worklist/import/confirm", data=confirm_fields(refused)).status_code == 302
    assert item_row(app, "SX-300") is not None and item_row(app, "SX-101")["name"] == WORLD_ITEMS[1]["name"]


def test_only_the_admin_may_import(app, client, world):
    for username in ("staff1", "approver1", "sec1"):
        login(client, username)
        assert client.get("/worklist/import").status_code == 403, username
        assert upload(client, to_csv([HEADER] + world_rows())).status_code == 403, username
        assert client.post("/worklist/import/confirm", data={"upload": "x" * 24, "digest": "y"}).status_code == 403
    client.post("/logout")
    response = client.get("/worklist/import")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# ---------------------------------------------------------------- the gate's figures

FIGURE_NAMES = ("sent", "on_list", "off_list", "approved", "rejected", "returned", "duplicates_stopped", "hours",
                "flag_duplicate", "flag_off_list", "flag_unclear", "flag_burden")
REASON = "县里临时安排的专项统计，清单里没有对应事项"


def make_tasks(app) -> list[str]:
    a = send(app, "staff1", "V11", item_code="SX-042")                         # pending → approved
    change(app, "approver1", a, gate="approved")
    b = send(app, "staff1", "V11", item_code="SX-042", title="再次摸底")        # repeats a → rejected
    change(app, "approver1", b, gate="rejected", gate_reason="重复派单，已有任务")
    c = send(app, "staff1", "V11", offlist_reason=REASON, title="统计充电设施")   # off the list → returned
    change(app, "approver1", c, gate="returned", gate_reason="请写明依据")
    d = send(app, "staff1", "V12", item_code="SX-108")                         # approved, then flagged
    change(app, "approver1", d, gate="approved")
    change(app, "sec12", d, flag="burden", flag_note="本月已巡查三次")
    e = send(app, "staff1", "V12", offlist_reason=REASON, title="另一项统计")   # off the list, pending
    f = send(app, "approver1", "V12", item_code="SX-101")                      # the approver's own: approved
    g = send(app, "staff1", "V11", item_code="SX-101", title="整治")            # withdrawn by its author
    change(app, "staff1", g, gate="withdrawn")
    h = send(app, "staff2", "V21", item_code="SX-101")                         # another township
    own = send(app, "sec1", "V11", title="村里自己的计划")                       # a village's plan: not sent down
    return [a, b, c, d, e, f, g, h, own]


def expected(app, ids, village_codes) -> tuple[dict, dict]:
    """The figures counted here, in Python, from the tasks the test made."""
    hours_of = {i["code"]: i["effort_hours"] for i in WORLD_ITEMS}
    with app.app_context():
        tasks = [db.session.get(Task, i) for i in ids]
        units = {u.id: u.code for u in db.session.scalars(select(Unit))}
        names = {u.id: u.username for u in db.session.scalars(select(User))}
        per_village = {code: dict.fromkeys(FIGURE_NAMES, 0) for code in village_codes}
        per_sender = {}
        for t in tasks:
            code = units[t.unit_id]
            if code not in per_village or t.origin != "township":
                continue
            sender = per_sender.setdefault(names[t.created_by], dict.fromkeys(FIGURE_NAMES, 0))
            for figures in (per_village[code], sender):
                figures["sent"] += 1
                figures["on_list" if t.item_code else "off_list"] += 1
                figures["approved"] += t.gate == "approved"
                figures["rejected"] += t.gate == "rejected"
                figures["returned"] += t.gate == "returned"
                figures["duplicates_stopped"] += bool(t.duplicate_of) and t.gate in ("rejected", "withdrawn")
                figures["hours"] += hours_of[t.item_code] if t.gate == "approved" and t.item_code else 0
                if t.flag:
                    figures[f"flag_{t.flag}"] += 1
    return per_village, per_sender


def shown(html, row_id) -> dict:
    row = re.search(r'<tr id="' + re.escape(row_id) + r'">(.*?)</tr>', html, re.S).group(1)
    return {name: float(value) if name == "hours" else int(value)
            for name, value in re.findall(r'data-figure="([a-z_]+)">([0-9.]+)<', row)}


def test_the_gate_figures_are_counted_from_the_tasks(app, client, world):
    ids = make_tasks(app)
    with app.app_context():
        b = db.session.get(Task, ids[1])
        assert b.duplicate_of == ids[0] and b.gate == "rejected"                # the gate did stop it
        assert db.session.get(Task, ids[3]).flag == "burden"
    per_village, per_sender = expected(app, ids, ["V11", "V12"])
    assert per_village["V11"]["duplicates_stopped"] == 1 and per_village["V12"]["flag_burden"] == 1
    assert per_village["V11"]["off_list"] == 1 and per_village["V12"]["hours"] == 6.0 + 8.0

    login(client, "staff1")
    html = page(client, "/worklist/stats")
    assert row_ids(html, "village") == ["V11", "V12"]                            # code order, T1 only
    for code, figures in per_village.items():
        assert shown(html, f"village-{code}") == figures, code
    assert shown(html, "figures-total") == {n: per_village["V11"][n] + per_village["V12"][n] for n in FIGURE_NAMES}
    assert row_ids(html, "sender") == ["approver1", "staff1"]                    # by name, never by a figure
    for username, figures in per_sender.items():
        assert shown(html, f"sender-{username}") == figures, username
    assert "staff2" not in html

    login(client, "admin")
    html = page(client, "/worklist/stats")
    assert row_ids(html, "village") == ["V11", "V12", "V21"]
    per_village, per_sender = expected(app, ids, ["V11", "V12", "V21"])
    assert shown(html, "village-V21") == per_village["V21"] and per_village["V21"]["sent"] == 1
    assert row_ids(html, "sender") == ["approver1", "staff1", "staff2"]

    response = client.get("/worklist/stats?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.data
    assert body.startswith("\ufeff".encode("utf-8"))
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Village", "Code", "Township"] and len(rows[0]) == 3 + len(FIGURE_NAMES)
    by_code = {r[1]: r for r in rows[1:-1]}
    assert list(by_code) == ["V11", "V12", "V21"] and rows[-1][0] == "Total"
    for code, figures in per_village.items():
        assert [float(v) for v in by_code[code][3:]] == [float(figures[n]) for n in FIGURE_NAMES], code
    senders = list(csv.reader(io.StringIO(client.get("/worklist/stats?format=csv&by=sender").data.decode("utf-8-sig"))))
    assert [r[0] for r in senders[1:]] == ["approver1", "staff1", "staff2"]


def test_the_figures_are_of_one_month_in_beijing_time(app, client, world):
    send(app, "staff1", "V11", item_code="SX-042")
    login(client, "staff1")
    this_month = Month.parse(None)
    assert shown(page(client, f"/worklist/stats?month={this_month.label}"), "village-V11")["sent"] == 1
    assert shown(page(client, f"/worklist/stats?month={this_month.shifted(-1).label}"), "village-V11")["sent"] == 0
    assert 'id="no-senders"' in page(client, "/worklist/stats?month=2020-01")
    for bad in ("2026-13", "2026-1", "26-01", "2026-W48", "abcd-ef"):
        page(client, f"/worklist/stats?month={bad}", status=400)


def test_month_bounds_are_beijing_midnights():
    march = Month.parse("2026-03")
    assert march.utc_bounds() == (dt.datetime(2026, 2, 28, 16), dt.datetime(2026, 3, 31, 16))
    assert Month.parse("2026-12").shifted(1) == Month(2027, 1) and Month(2027, 1).shifted(-1) == Month(2026, 12)
    # 31 December, 20:00 UTC is already 1 January in Beijing.
    new_year = dt.datetime(2026, 12, 31, 20, tzinfo=dt.timezone.utc).astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert Month.parse(None, today=new_year.date()) == Month(2027, 1)
    for bad in ("2026-00", "1989-12", "2026-1", "x"):
        with pytest.raises(ValueError):
            Month.parse(bad)


def test_with_csrf_on_the_upload_needs_its_token_and_the_size_limit_still_shows_the_page(database_url, tmp_path):
    """The upload is exempt from the global CSRF check (so the size limit is set before the body is read);
    its form checks the token itself."""
    from flask_migrate import upgrade

    from app.cli import add_unit, add_user
    from tests.conftest import make_app
    app = make_app(database_url, WTF_CSRF_ENABLED=True)
    app.instance_path = str(tmp_path / "csrf-instance")
    with app.app_context():
        upgrade()
        add_unit("C", "县", "county", None)
        add_user("admin", "admin", "C", PASSWORD)
        db.session.commit()
    client = app.test_client()

    def token(path):
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page(client, path)).group(1)

    client.set_cookie("lang", "en")
    login_token = token("/login")
    assert client.post("/login", data={"username": "admin", "password": PASSWORD,
                                       "csrf_token": login_token}).status_code == 302
    good = to_csv([HEADER] + world_rows())
    no_token = upload(client, good)
    assert no_token.status_code == 400 and "The form expired" in no_token.get_data(as_text=True)
    assert not (tmp_path / "csrf-instance" / "worklist-uploads").exists() or \
        not list((tmp_path / "csrf-instance" / "worklist-uploads").glob("*.bin"))
    form_token = token("/worklist/import")
    big = client.post("/worklist/import", data={"csrf_token": form_token,
                                                "file": (io.BytesIO(b"x" * (3 * 1024 * 1024)), "big.csv")},
                      content_type="multipart/form-data")
    assert big.status_code == 413 and "larger than 2 MB" in big.get_data(as_text=True)
    ok = client.post("/worklist/import", data={"csrf_token": form_token, "file": (io.BytesIO(good), "list.csv")},
                     content_type="multipart/form-data")
    assert ok.status_code == 200 and 'id="confirm-form"' in ok.get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()
