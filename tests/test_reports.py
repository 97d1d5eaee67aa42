"""Weekly reports, charts and the export: figures equal counts made independently from the records the
test created, and a reviewer of one township sees nothing of another."""
import datetime as dt
import io
import uuid

import openpyxl
import pytest
import sqlite_utils
from sqlalchemy import select, update

from app import sync_service
from app.extensions import db
from app.models import Journal, Problem, Request, Task, User, utcnow
from app.reports.figures import Week
from tests.conftest import PASSWORD, on_both_databases

THIS_WEEK = Week.parse(None)
LAST_WEEK = THIS_WEEK.shifted(-1)


def login(client, username):
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302


def submit(app, username, ops):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        results = sync_service.submit(user, ops)
    assert all(r["status"] in ("applied", "merged") for r in results), results
    return [op["id"] for op in ops]


def op(rtype, record_id=None, base=None, unit=None, **fields):
    out = {"op": str(uuid.uuid4()), "type": rtype, "id": record_id or str(uuid.uuid4()), "base": base, "set": fields}
    return out | ({"unit": unit} if unit else {})


def dispatch(app, *ops):
    """Township tasks sent by staff1 and approved by approver1 (the dispatch gate): they reached the village."""
    ids = submit(app, "staff1", list(ops))
    submit(app, "approver1", [op("task", i, base=1, gate="approved") for i in ids])
    return ids


def shift(app, model, ids, **columns):
    """Move records' server times into the past, as if they had been made then."""
    with app.app_context():
        db.session.execute(update(model).where(model.id.in_(ids)).values(**columns))
        db.session.commit()


database_url = on_both_databases()


@pytest.fixture
def records(app, world):
    """A week of work in V11 and V12 (township T1) and some in V21 (T2); returns what the test expects."""
    monday = THIS_WEEK.monday
    last_monday_noon = dt.datetime.combine(LAST_WEEK.monday, dt.time(4))  # 12:00 Beijing, in UTC
    journals_v11 = submit(app, "sec1", [op("journal", text=f"日志{i}", date=str(monday)) for i in range(3)])
    submit(app, "sec1", [op("journal", text="上周", date=str(LAST_WEEK.monday))])
    submit(app, "sec12", [op("journal", text="二村", date=str(monday))])
    submit(app, "sec2", [op("journal", text="三村", date=str(monday)) for _ in range(5)])
    # Problems: two opened this week in V11, one resolved; one opened last week in V12.
    p1, p2 = submit(app, "sec1", [op("problem", title="水渠"), op("problem", title="路灯")])
    submit(app, "sec1", [op("problem", p1, base=1, status="resolved", resolution="已修")])
    [old] = submit(app, "sec12", [op("problem", title="旧问题")])
    shift(app, Problem, [old], created_at=last_monday_noon)
    # Tasks: V11 one done, one overdue; V12 one on time. Each passed the gate: it reached the village.
    t_done, t_late = dispatch(app, op("task", unit="V11", title="优待证", due=str(monday), item_code="SX-042"),
                              op("task", unit="V11", title="巡查", due="2020-01-01", item_code="SX-108"))
    submit(app, "sec1", [op("task", t_done, base=2, status="done", note="已办")])
    dispatch(app, op("task", unit="V12", title="将来", due="2035-01-01", item_code="SX-101"))
    # Requests: V11 one answered this week, one unanswered for 20 days.
    r1, r2 = submit(app, "sec1", [op("request", content="修路", resident_name="张三丰", resident_contact="13812345678"),
                                  op("request", content="低保")])
    submit(app, "sec1", [op("request", r1, base=1, status="answered", reply="已安排")])
    shift(app, Request, [r2], created_at=utcnow() - dt.timedelta(days=20))
    assert len(journals_v11) == 3
    return {
        "V11": {"journals": 3, "problems_opened": 2, "problems_resolved": 1, "tasks_done": 1, "tasks_overdue": 1,
                "requests_answered": 1, "requests_unanswered": 1},
        "V12": {"journals": 1, "problems_opened": 0, "problems_resolved": 0, "tasks_done": 0, "tasks_overdue": 0,
                "requests_answered": 0, "requests_unanswered": 0},
        "last_week_V12_opened": 1, "last_week_V11_journals": 1,
    }


def figures(html: str, code: str) -> dict:
    import re
    row = re.search(rf'<tr id="row-{code}">(.*?)</tr>', html, re.S).group(1)
    return {m: int(v) for m, v in re.findall(r'data-metric="(\w+)"[^>]*>(\d+)<', row)}


def test_weekly_report_figures_equal_the_records(client, records):
    login(client, "staff1")
    html = client.get(f"/township/reports/weekly?week={THIS_WEEK.label}").get_data(as_text=True)
    assert figures(html, "V11") == records["V11"]
    assert figures(html, "V12") == records["V12"]
    assert figures(html, "total") == {m: records["V11"][m] + records["V12"][m] for m in records["V11"]}
    last = client.get(f"/township/reports/weekly?week={LAST_WEEK.label}").get_data(as_text=True)
    assert figures(last, "V12")["problems_opened"] == records["last_week_V12_opened"]
    assert figures(last, "V11")["journals"] == records["last_week_V11_journals"]


def test_xlsx_and_csv_carry_the_same_figures(client, records):
    login(client, "staff1")
    xlsx = client.get(f"/township/reports/weekly?week={THIS_WEEK.label}&format=xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data)).active
    rows = {row[1]: row[2:] for row in sheet.iter_rows(values_only=True)}
    assert list(rows["V11"]) == list(records["V11"].values())
    csv = client.get(f"/township/reports/weekly?week={THIS_WEEK.label}&format=csv").data.decode("utf-8-sig")
    line = next(line for line in csv.splitlines() if ",V11," in line)
    assert line.split(",")[2:] == [str(v) for v in records["V11"].values()]


def test_county_view_sums_its_townships(client, records):
    login(client, "admin")
    html = client.get(f"/township/reports/weekly?week={THIS_WEEK.label}").get_data(as_text=True)
    assert figures(html, "T1")["journals"] == 4 and figures(html, "T2")["journals"] == 5
    one = client.get(f"/township/reports/weekly?week={THIS_WEEK.label}&township=T2").get_data(as_text=True)
    assert figures(one, "V21")["journals"] == 5 and 'id="row-V11"' not in one


def test_a_reviewer_sees_nothing_of_another_township(client, records):
    login(client, "staff2")
    html = client.get("/township/reports/weekly").get_data(as_text=True)
    assert 'id="row-V21"' in html and 'id="row-V11"' not in html and "一村" not in html
    assert client.get("/township/reports/weekly?township=T1").status_code == 404
    svg = client.get("/township/charts/activity.svg").get_data(as_text=True)
    assert svg.startswith("<svg") and "三村" in svg and "一村" not in svg and "二村" not in svg
    assert client.get("/township/charts/problems.svg?township=T1").status_code == 404
    export = client.get("/township/export.sqlite")
    path = sqlite_utils.Database(memory=True)
    path.conn.deserialize(export.data)
    assert [r["code"] for r in path["villages"].rows] == ["V21"]
    assert {r["village"] for r in path["journals"].rows} == {"V21"}
    assert path["problems"].count == 0 and path["tasks"].count == 0


def test_export_masks_personal_data_and_holds_everything_in_scope(client, records, app, world):
    login(client, "staff1")
    db_file = sqlite_utils.Database(memory=True)
    db_file.conn.deserialize(client.get("/township/export.sqlite").data)
    township_one = [world["V11"], world["V12"]]
    with app.app_context():
        for table, model in (("journals", Journal), ("problems", Problem), ("tasks", Task), ("requests", Request)):
            ids = set(db.session.scalars(select(model.id).where(model.unit_id.in_(township_one))))
            assert {r["id"] for r in db_file[table].rows} == ids, table
    names = {r["resident_name"] for r in db_file["requests"].rows}
    contacts = {r["resident_contact"] for r in db_file["requests"].rows}
    assert "张三丰" not in names and "张**" in names and "138****5678" in contacts


def test_a_bad_week_is_a_clear_400(client, records):
    login(client, "staff1")
    response = client.get("/township/reports/weekly?week=2026-W99")
    assert response.status_code == 400 and "2026-W48" in response.get_data(as_text=True)


def test_field_users_are_sent_to_their_phone_page(client, records):
    login(client, "sec1")
    assert client.get("/township/reports/weekly").headers["Location"].endswith("/field")
