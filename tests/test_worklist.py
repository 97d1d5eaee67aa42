"""The county's work-item list (涉村工作事项清单): importing it with `flask import-work-items` from CSV
(UTF-8 or GBK, English or Chinese headers) or XLSX, every bad cell named by row and column, re-imports that
update by code, retire what is gone and keep the history; and searching it over `GET /api/work-items`.
On SQLite and on PostgreSQL."""
from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from app.cli import add_unit, add_user
from app.extensions import db
from app.models import Unit, WorkItem, WorkItemChange
from tests.conftest import PASSWORD, on_both_databases


database_url = on_both_databases()


# ---------------------------------------------------------------- helpers

ENGLISH = """code,name,basis,department,effort_hours,status
SX-001,村党组织换届选举组织实施,《中国共产党农村基层组织工作条例》第二十一条,县委组织部,16,active
SX-002,党员发展对象培养考察,《中国共产党发展党员工作细则》,县委组织部,6.5,
SX-003,创建示范村台账,已取消,,2,cancelled
"""

CHINESE = """编码,事项名称,依据,责任部门,预计工时,状态
SX-101,农村人居环境整治,《农村人居环境整治提升五年行动方案》,县农业农村局,8,有效
SX-102,森林防火巡查,《森林防火条例》第二十条,县林业局,,已取消
SX-103,农村电影放映场次统计,依据到期,县文广旅体局,1,已退出
"""


@pytest.fixture
def county(app):
    """A county "K" with a township and a village, and no list yet."""
    with app.app_context():
        add_unit("K", "示范县", "county", None)
        add_unit("KT", "青山镇", "township", "K")
        add_unit("KV", "东坡村", "village", "KT")
        db.session.commit()
    return "K"


def write(tmp_path, name, content, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return str(path)


def xlsx(tmp_path, name, rows):
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return write(tmp_path, name, out.getvalue())


def run(runner, *args):
    return runner.invoke(args=["import-work-items", *args])


def items(app, county_code):
    """{code: (name, basis, department, effort_hours, status)} of the county's list."""
    with app.app_context():
        county = db.session.scalar(select(Unit).where(Unit.code == county_code))
        return {i.code: (i.name, i.basis, i.department, i.effort_hours, i.status)
                for i in db.session.scalars(select(WorkItem).where(WorkItem.county_id == county.id))}


def changes(app, county_code):
    """[(code, action, before status, after)] of the county's list history, oldest first."""
    with app.app_context():
        county = db.session.scalar(select(Unit).where(Unit.code == county_code))
        query = (select(WorkItem.code, WorkItemChange).join(WorkItem, WorkItem.id == WorkItemChange.item_id)
                 .where(WorkItem.county_id == county.id).order_by(WorkItemChange.at, WorkItemChange.id))
        return [(code, c.action, c.before, c.after, c.import_id, c.source) for code, c in db.session.execute(query)]


def snapshot(app):
    with app.app_context():
        return (sorted(tuple(r) for r in db.session.execute(
            select(WorkItem.county_id, WorkItem.code, WorkItem.name, WorkItem.basis, WorkItem.department,
                   WorkItem.effort_hours, WorkItem.status, WorkItem.updated_at))),
                db.session.scalar(select(func.count()).select_from(WorkItemChange)))


# ---------------------------------------------------------------- importing

def test_a_csv_with_english_headers(app, runner, county, tmp_path):
    outcome = run(runner, write(tmp_path, "list.csv", ENGLISH), "--county", "K")
    assert outcome.exit_code == 0, outcome.output
    assert "Imported the work-item list of K: 3 added, 0 updated, 0 retired, 0 unchanged." in outcome.output
    assert items(app, "K") == {
        "SX-001": ("村党组织换届选举组织实施", "《中国共产党农村基层组织工作条例》第二十一条", "县委组织部", 16.0, "active"),
        "SX-002": ("党员发展对象培养考察", "《中国共产党发展党员工作细则》", "县委组织部", 6.5, "active"),
        "SX-003": ("创建示范村台账", "已取消", "", 2.0, "cancelled"),
    }
    history = changes(app, "K")
    assert sorted((code, action, before) for code, action, before, *_ in history) == [
        ("SX-001", "added", None), ("SX-002", "added", None), ("SX-003", "added", None)]
    assert len({import_id for *_, import_id, _source in history}) == 1      # one import, one id
    assert all(source.startswith("cli:") and source.endswith("list.csv") for *_, source in history)


def test_a_csv_with_chinese_headers_saved_as_gbk(app, runner, county, tmp_path):
    path = write(tmp_path, "清单.csv", CHINESE, encoding="gbk")
    with open(path, "rb") as handle:
        with pytest.raises(UnicodeDecodeError):
            handle.read().decode("utf-8")       # really GBK, not UTF-8
    outcome = run(runner, path, "--county", "K")
    assert outcome.exit_code == 0, outcome.output
    assert items(app, "K") == {
        "SX-101": ("农村人居环境整治", "《农村人居环境整治提升五年行动方案》", "县农业农村局", 8.0, "active"),
        "SX-102": ("森林防火巡查", "《森林防火条例》第二十条", "县林业局", None, "cancelled"),
        "SX-103": ("农村电影放映场次统计", "依据到期", "县文广旅体局", 1.0, "retired"),
    }


def test_a_csv_saved_by_excel_with_a_byte_order_mark(app, runner, county, tmp_path):
    outcome = run(runner, write(tmp_path, "bom.csv", CHINESE, encoding="utf-8-sig"), "--county", "K")
    assert outcome.exit_code == 0, outcome.output
    assert set(items(app, "K")) == {"SX-101", "SX-102", "SX-103"}


def test_an_xlsx_workbook(app, runner, county, tmp_path):
    path = xlsx(tmp_path, "list.xlsx", [
        ["事项编码", "名称", "政策依据", "部门", "工时", "状态"],
        ["SX-201", "办理老年优待证", "《老年人权益保障法》第五十七条", "县民政局", 3, "有效"],
        [None, None, None, None, None, None],                         # a blank row is skipped
        ["SX-202", "  低保对象动态管理  ", None, "县民政局", 2.5, None],
        [203, "以数字为编码的事项", "", "", 1.0, "取消清单"],             # a number cell for a code
    ])
    outcome = run(runner, path, "--county", "K")
    assert outcome.exit_code == 0, outcome.output
    assert "3 added" in outcome.output
    assert items(app, "K") == {
        "SX-201": ("办理老年优待证", "《老年人权益保障法》第五十七条", "县民政局", 3.0, "active"),
        "SX-202": ("低保对象动态管理", "", "县民政局", 2.5, "active"),
        "203": ("以数字为编码的事项", "", "", 1.0, "cancelled"),
    }


def test_bad_rows_are_named_by_row_and_column_and_nothing_is_imported(app, runner, world, county, tmp_path):
    before = snapshot(app)
    bad = """编码,事项名称,依据,责任部门,预计工时,状态
SX-301,好的一行,依据,县民政局,2,有效
SX-302,,依据,县民政局,2,有效
SX-303,工时写错,依据,县民政局,两小时,有效
SX-301,编码重复,依据,县民政局,2,有效
SX 304,编码有空格,依据,县民政局,2,有效
SX-305,状态写错,依据,县民政局,2,待定
SX-306,工时为负,依据,县民政局,-1,有效
"""
    outcome = run(runner, write(tmp_path, "bad.csv", bad, encoding="gbk"), "--county", "K")
    assert outcome.exit_code != 0
    text = outcome.output
    assert "6 bad cells; nothing was imported" in text
    for row, column in [(3, "事项名称"), (4, "预计工时"), (5, "编码"), (6, "编码"), (7, "状态"), (8, "预计工时")]:
        assert f"row {row}, column {column}:" in text, (row, column, text)
    assert "row 2," not in text
    assert "Code SX-301 is already on row 2." in text
    assert snapshot(app) == before
    assert items(app, "K") == {}


def test_bad_rows_leave_an_existing_list_as_it_was(app, runner, world, tmp_path):
    before = snapshot(app)
    bad = "code,name\nSX-042,改了名字\nSX-101,\n"
    outcome = run(runner, write(tmp_path, "bad.csv", bad), "--county", "C")
    assert outcome.exit_code != 0 and "row 3, column name:" in outcome.output
    assert snapshot(app) == before


@pytest.mark.parametrize("content, name, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "list.csv", "not a CSV text file"),
    (b"PK\x03\x04 not really a workbook", "list.xlsx", "not an XLSX workbook"),
    ("name,basis\n办理老年优待证,依据\n".encode(), "list.csv", "missing: code"),
    (b"", "list.csv", "empty"),
    (b"code,name\n", "list.csv", "no items"),
])
def test_an_unreadable_file_is_refused(app, runner, world, tmp_path, content, name, message):
    before = snapshot(app)
    outcome = run(runner, write(tmp_path, name, content), "--county", "C")
    assert outcome.exit_code != 0 and message in outcome.output, outcome.output
    assert snapshot(app) == before


def test_the_county_must_exist(app, runner, world, tmp_path):
    path = write(tmp_path, "list.csv", ENGLISH)
    for code in ("NOPE", "T1", "V11"):
        outcome = run(runner, path, "--county", code)
        assert outcome.exit_code != 0 and f"No county has the code {code}." in outcome.output
    assert run(runner, str(tmp_path / "missing.csv"), "--county", "C").exit_code != 0


def test_a_reimport_updates_by_code_retires_what_is_gone_and_keeps_history(app, runner, county, tmp_path):
    assert run(runner, write(tmp_path, "v1.csv", ENGLISH), "--county", "K").exit_code == 0
    second = """code,name,basis,department,effort_hours,status
SX-001,村党组织换届选举组织实施（修订）,《中国共产党农村基层组织工作条例》第二十一条,县委组织部,12,active
SX-004,村务监督委员会履职,《村务监督委员会工作规则》,县纪委,4,active
"""
    outcome = run(runner, write(tmp_path, "v2.csv", second), "--county", "K")
    assert outcome.exit_code == 0, outcome.output
    # SX-002 is no longer listed: retired. SX-003 was on the cancelled list and stays there.
    assert "1 added, 1 updated, 1 retired, 0 unchanged" in outcome.output
    now = items(app, "K")
    assert now["SX-001"] == ("村党组织换届选举组织实施（修订）", "《中国共产党农村基层组织工作条例》第二十一条", "县委组织部",
                             12.0, "active")
    assert now["SX-002"][-1] == "retired" and now["SX-002"][0] == "党员发展对象培养考察"   # kept, not deleted
    assert now["SX-003"][-1] == "cancelled"
    assert now["SX-004"][-1] == "active"
    history = changes(app, "K")
    by_code = {}
    for code, action, before, after, import_id, _source in history:
        by_code.setdefault(code, []).append((action, before and before["name"], after["name"], after["status"]))
    assert by_code["SX-001"] == [("added", None, "村党组织换届选举组织实施", "active"),
                                 ("updated", "村党组织换届选举组织实施", "村党组织换届选举组织实施（修订）", "active")]
    assert by_code["SX-002"] == [("added", None, "党员发展对象培养考察", "active"),
                                 ("retired", "党员发展对象培养考察", "党员发展对象培养考察", "retired")]
    assert by_code["SX-003"] == [("added", None, "创建示范村台账", "cancelled")]
    assert by_code["SX-004"] == [("added", None, "村务监督委员会履职", "active")]
    assert len({c[4] for c in history}) == 2
    updated = next(c for c in history if c[0] == "SX-001" and c[1] == "updated")
    assert (updated[2]["effort_hours"], updated[3]["effort_hours"]) == (16.0, 12.0)
    # The same file again changes nothing and writes no history; a retired item may come back.
    again = run(runner, write(tmp_path, "v2.csv", second), "--county", "K")
    assert "0 added, 0 updated, 0 retired, 2 unchanged" in again.output
    assert len(changes(app, "K")) == len(history)
    back = second + "SX-002,党员发展对象培养考察,《中国共产党发展党员工作细则》,县委组织部,6.5,active\n"
    assert "1 updated" in run(runner, write(tmp_path, "v3.csv", back), "--county", "K").output
    assert items(app, "K")["SX-002"][-1] == "active"


def test_a_dry_run_shows_the_plan_and_changes_nothing(app, runner, county, tmp_path):
    assert run(runner, write(tmp_path, "v1.csv", ENGLISH), "--county", "K").exit_code == 0
    before = snapshot(app)
    second = "code,name,status\nSX-001,新名字,active\nSX-009,新事项,active\nSX-003,创建示范村台账,cancelled\n"
    outcome = run(runner, write(tmp_path, "v2.csv", second), "--county", "K", "--dry-run")
    assert outcome.exit_code == 0, outcome.output
    assert "Dry run for K: 1 added, 2 updated, 1 retired, 0 unchanged. Nothing was changed." in outcome.output
    assert snapshot(app) == before


def test_each_county_has_its_own_list(app, runner, world, county, tmp_path):
    before = items(app, "C")
    assert run(runner, write(tmp_path, "list.csv", ENGLISH), "--county", "K").exit_code == 0
    assert items(app, "C") == before and set(items(app, "K")) == {"SX-001", "SX-002", "SX-003"}


# ---------------------------------------------------------------- searching: GET /api/work-items

def token(client, username):
    response = client.post("/api/auth/token", json={"username": username, "password": PASSWORD,
                                                    "device_name": "红米"})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def search(client, headers, **params):
    response = client.get("/api/work-items", query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return body["county"], [i["code"] for i in body["items"]], body["items"]


def test_search_by_code_and_by_words(client, world):
    sec1 = token(client, "sec1")
    county, codes, found = search(client, sec1, q="SX-042")
    assert (county, codes) == ("C", ["SX-042"])
    assert found == [{"code": "SX-042", "name": "办理老年优待证", "basis": "《老年人权益保障法》第五十七条",
                      "department": "县民政局", "effort_hours": 3.0, "status": "active"}]
    assert search(client, sec1, q="sx-10")[1] == ["SX-101", "SX-108"]      # part of a code, any case
    assert search(client, sec1, q="防火")[1] == ["SX-108"]                   # a word of the name
    assert search(client, sec1, q="第五十七条")[1] == ["SX-042"]              # of the basis
    assert search(client, sec1, q="县农业农村局")[1] == ["SX-101"]            # of the department
    assert search(client, sec1, q="县民政局 老年")[1] == ["SX-042"]          # every word must match
    assert search(client, sec1, q="县民政局 防火")[1] == []
    # Active items only, unless all are asked for.
    assert search(client, sec1)[1] == ["SX-042", "SX-101", "SX-108"]
    assert search(client, sec1, status="all")[1] == ["SX-042", "SX-101", "SX-108", "SX-190", "SX-201"]
    assert search(client, sec1, q="台账")[1] == []
    assert [(i["code"], i["status"]) for i in search(client, sec1, q="台账", status="all")[2]] == [
        ("SX-201", "cancelled")]
    assert search(client, sec1, limit=2)[1] == ["SX-042", "SX-101"]


@pytest.mark.parametrize("q", ["%", "_", "%%_", "'", "\\", "SX-0%2", "SX_042", "a" * 500, "\x00 防火"])
def test_odd_queries_are_harmless_and_wildcards_are_plain_characters(client, world, q):
    county, codes, _ = search(client, token(client, "staff1"), q=q)
    assert county == "C" and codes == ([] if "防火" not in q else ["SX-108"])


def test_a_code_with_an_underscore_is_found_as_written(app, client, world):
    from app.worklist import service as worklist
    with app.app_context():
        county = db.session.scalar(select(Unit).where(Unit.code == "C"))
        listed = [{"code": c, **{k: v for k, v in i.items() if k != "code"}} for c, i in (
            ("SX_7", {"name": "下划线编码", "basis": "100%完成", "department": "", "effort_hours": None,
                      "status": "active"}),
            ("SX17", {"name": "相似编码", "basis": "", "department": "", "effort_hours": None, "status": "active"}))]
        current = [{"code": i.code, "name": i.name, "basis": i.basis, "department": i.department,
                    "effort_hours": i.effort_hours, "status": i.status} for i in worklist.county_items(county).values()]
        worklist.apply(county, worklist.plan(county, current + listed), None, "test")
        db.session.commit()
    headers = token(client, "sec1")
    assert search(client, headers, q="SX_7")[1] == ["SX_7"]
    assert search(client, headers, q="100%")[1] == ["SX_7"]
    assert search(client, headers, q="SX17")[1] == ["SX17"]


def test_every_role_searches_its_own_countys_list(app, client, world):
    with app.app_context():
        add_unit("C2", "邻县", "county", None)
        add_unit("T3", "三镇", "township", "C2")
        add_unit("V31", "四村", "village", "T3")
        add_user("sec3", "secretary", "V31", PASSWORD)
        add_user("staff3", "township_staff", "T3", PASSWORD)
        add_user("admin2", "admin", "C2", PASSWORD)
        from app.worklist import service as worklist
        c2 = db.session.scalar(select(Unit).where(Unit.code == "C2"))
        worklist.apply(c2, worklist.plan(c2, [{"code": "LX-001", "name": "办理老年优待证（邻县）", "basis": "",
                                               "department": "邻县民政局", "effort_hours": 2.0,
                                               "status": "active"}]), None, "test")
        db.session.commit()
    for username in ("sec3", "staff3", "admin2"):
        headers = token(client, username)
        assert search(client, headers) == ("C2", ["LX-001"], [{
            "code": "LX-001", "name": "办理老年优待证（邻县）", "basis": "", "department": "邻县民政局",
            "effort_hours": 2.0, "status": "active"}])
        assert search(client, headers, q="SX-042", status="all")[1] == []
        assert search(client, headers, q="老年优待证")[1] == ["LX-001"]
    for username in ("sec1", "cadre1", "staff1", "approver1", "staff2", "admin"):
        assert search(client, token(client, username), q="老年优待证")[:2] == ("C", ["SX-042"])


def test_a_page_session_may_search_too(client, world):
    assert client.post("/login", data={"username": "staff1", "password": PASSWORD}).status_code == 302
    assert search(client, {}, q="防火")[:2] == ("C", ["SX-108"])


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic x"}])
def test_unauthenticated_is_a_json_401(client, world, headers):
    response = client.get("/api/work-items?q=SX", headers=headers)
    assert response.status_code == 401
    assert response.is_json and response.get_json()["error"]["code"]
    assert "SX-" not in response.get_data(as_text=True)
