"""Ledgers (台账): one row per record, residents masked outside their village, filters, scope and errors."""
import csv
import datetime as dt
import io
from urllib.parse import unquote

import openpyxl
import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import Problem
from tests.conftest import on_both_databases
from tests.test_reports import dispatch, op, submit
from tests.test_township_records import CONTACT, RESIDENT, create, edit, login

database_url = on_both_databases()


def xlsx_rows(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    return [[cell if cell is not None else "" for cell in row] for row in sheet.iter_rows(values_only=True)]


def csv_rows(response):
    assert response.status_code == 200
    assert response.data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def shift(app, model, record_id, **columns):
    with app.app_context():
        db.session.execute(update(model).where(model.id == record_id).values(**columns))
        db.session.commit()


@pytest.fixture
def ledger_world(app, world):
    """Two requests and two problems in V11, one problem in V12, one in V21 (the other township)."""
    r1 = create(app, "sec1", "request", content="修村口的路", resident_name=RESIDENT, resident_contact=CONTACT)
    edit(app, "sec1", "request", r1, 1, status="answered", reply="已列入明年计划")
    create(app, "sec1", "request", content="低保复核", resident_name="李四")
    p1 = create(app, "sec1", "problem", title="水渠堵了", urgent=True, owner="cadre1")
    edit(app, "sec1", "problem", p1, 1, status="resolved", resolution="清理了水渠")
    old = create(app, "sec1", "problem", title="路灯坏了")
    shift(app, Problem, old, created_at=dt.datetime(2026, 3, 10, 4))
    create(app, "sec12", "problem", title="二村的问题")
    create(app, "sec2", "problem", title="三村的问题")
    return {"old": old}


def test_request_ledger_masks_residents_for_the_township_only(client, app, ledger_world):
    login(client, "approver1")
    rows = xlsx_rows(client.get("/reports/ledger/request?village=V11&format=xlsx"))
    header, *body = rows
    assert header[:4] == ["No.", "Village", "Date", "Resident"]
    assert len(body) == 2
    by_content = {row[header.index("Request")]: row for row in body}
    road = by_content["修村口的路"]
    assert road[header.index("Resident")] == "张**" and road[header.index("Contact")] == "138****5678"
    assert road[header.index("Status")] == "Answered" and road[header.index("Reply")] == "已列入明年计划"
    assert road[header.index("Replied on")] == dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    assert RESIDENT not in str(rows) and CONTACT not in str(rows) and "李四" not in str(rows)
    assert [row[0] for row in body] == [1, 2]

    client.get("/logout")
    login(client, "sec1")
    rows = xlsx_rows(client.get("/reports/ledger/request?format=xlsx"))
    header, *body = rows
    road = next(row for row in body if row[header.index("Request")] == "修村口的路")
    assert road[header.index("Resident")] == RESIDENT and road[header.index("Contact")] == CONTACT


def test_problem_ledger_has_a_row_per_problem_and_the_csv_the_same_rows(client, app, ledger_world):
    login(client, "staff1")
    rows = xlsx_rows(client.get("/reports/ledger/problem"))
    header, *body = rows
    assert header == ["No.", "Village", "Problem", "Detail", "Category", "Urgent", "Status", "Responsible",
                      "Deadline", "Raised on", "Resolved on", "How it was resolved", "Source"]
    assert [(row[1], row[2]) for row in body] == [("一村", "路灯坏了"), ("一村", "水渠堵了"), ("二村", "二村的问题")]
    ditch = body[1]
    assert ditch[header.index("Urgent")] == "Yes" and ditch[header.index("Status")] == "Resolved"
    assert ditch[header.index("How it was resolved")] == "清理了水渠" and ditch[header.index("Responsible")] == "cadre1"
    assert ditch[header.index("Resolved on")] == ditch[header.index("Raised on")] != ""
    assert body[0][header.index("Raised on")] == "2026-03-10"
    assert "三村的问题" not in str(rows)

    as_csv = csv_rows(client.get("/reports/ledger/problem?format=csv"))
    assert as_csv == [[str(cell) for cell in row] for row in rows]


def test_headers_and_values_in_chinese(client, app, ledger_world):
    login(client, "staff1", lang="zh_CN")
    header, *body = xlsx_rows(client.get("/reports/ledger/problem?village=V11"))
    assert header[:3] == ["序号", "村", "问题"] and "紧急" in header and "解决情况" in header
    assert body[1][header.index("紧急")] == "是" and body[1][header.index("状态")] == "已解决"


def test_from_and_to_filter_by_the_day_recorded(client, app, ledger_world):
    login(client, "staff1")
    spring = xlsx_rows(client.get("/reports/ledger/problem?from=2026-03-01&to=2026-03-10"))
    assert [row[2] for row in spring[1:]] == ["路灯坏了"]
    later = xlsx_rows(client.get("/reports/ledger/problem?from=2026-03-11"))
    assert "路灯坏了" not in [row[2] for row in later[1:]] and len(later) == 3
    empty = xlsx_rows(client.get("/reports/ledger/problem?to=2020-01-01"))
    assert len(empty) == 1 and empty[0][0] == "No."


def test_task_ledger_lists_the_tasks_the_village_received(client, app, world):
    [sent] = dispatch(app, op("task", unit="V11", title="优待证", due="2035-01-01", item_code="SX-042"))
    edit(app, "sec1", "task", sent, 2, status="done", note="已办好")
    submit(app, "staff1", [op("task", unit="V11", title="还在审核", item_code="SX-101")])
    create(app, "sec1", "task", title="村里自己的任务")
    login(client, "approver1")
    header, *body = xlsx_rows(client.get("/reports/ledger/task?village=V11"))
    assert [row[header.index("Task")] for row in body] == ["优待证", "村里自己的任务"]
    done = body[0]
    assert done[header.index("Item code")] == "SX-042" and done[header.index("Item name")] == "办理老年优待证"
    assert done[header.index("Screening")] == "Approved" and done[header.index("Origin")] == "Township"
    assert done[header.index("Status")] == "Done" and done[header.index("Done on")] != ""
    assert done[header.index("How it was done")] == "已办好" and done[header.index("Deadline")] == "2035-01-01"
    assert body[1][header.index("Screening")] == "" and body[1][header.index("Origin")] == "Village"


def test_filename_names_the_ledger_the_village_and_the_dates(client, app, ledger_world):
    login(client, "staff1", lang="zh_CN")
    response = client.get("/reports/ledger/problem?village=V11&from=2026-11-01&to=2026-11-30")
    disposition = response.headers["Content-Disposition"]
    assert 'filename="problem-ledger-V11-2026-11-01_2026-11-30.xlsx"' in disposition
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "问题台账-一村-2026-11-01_2026-11-30.xlsx"


@pytest.mark.parametrize("user, path", [
    ("staff1", "/reports/ledger/problem?village=V21"),   # the other township's village
    ("staff1", "/reports/ledger/problem?village=NOPE"),
    ("sec1", "/reports/ledger/problem?village=V12"),     # a village user sees only their own
    ("staff1", "/reports/ledger/journal"),
    ("staff1", "/reports/ledger/"),
])
def test_out_of_scope_and_unknown_are_not_found(client, app, ledger_world, user, path):
    login(client, user)
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("query, words", [
    ("from=2026-13-01", "is not a date"), ("to=20261130", "is not a date"), ("from=yesterday", "is not a date"),
    ("from=2026-11-30&to=2026-11-01", "is after the end date"), ("format=pdf", "XLSX or CSV"),
])
def test_bad_dates_and_formats_are_told(client, app, ledger_world, query, words):
    login(client, "staff1")
    response = client.get(f"/reports/ledger/problem?{query}")
    assert response.status_code == 400 and words in response.get_data(as_text=True)


def test_anonymous_users_log_in_first(client, app, world):
    response = client.get("/reports/ledger/problem")
    assert response.status_code in (302, 401)
