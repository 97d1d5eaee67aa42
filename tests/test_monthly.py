"""The month's 驻村纪实 and the county's figures: every figure equals a count made here from the records the test
created (through the one write path), cut at midnight Beijing time; residents masked outside the village in
every format; another township's village answers 404 and leaks nothing."""
import csv
import datetime as dt
import io
import re
from urllib.parse import unquote

import docx
import openpyxl
import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import Journal, Problem, Request, Review, Task
from app.reports.monthly import Month
from tests.conftest import PASSWORD, on_both_databases
from tests.test_reports import op
from tests.test_reports import submit as submit_all

database_url = on_both_databases()

RESIDENT, CONTACT = "张三丰", "13812345678"
MASKED = "张**"
MONTH = "2026-11"
FIGURES = ("days_in_village", "journals", "visits", "problems_resolved", "requests_answered", "tasks_done")


def login(client, username, lang=None):
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    if lang:
        client.set_cookie("lang", lang)


def submit(app, username, *ops):
    return submit_all(app, username, list(ops))


def shift(app, model, record_id, **columns):
    """Put a record's dates where the test needs them (the write path stamps today's)."""
    with app.app_context():
        db.session.execute(update(model).where(model.id == record_id).values(**columns))
        db.session.commit()


def utc(text):
    return dt.datetime.fromisoformat(text.replace("Z", ""))


def journal(app, username, day, text, visits=None, places=None):
    [jid] = submit(app, username, op("journal", text=text, visits=visits, places=places))
    shift(app, Journal, jid, date=dt.date.fromisoformat(day))
    return {"id": jid, "date": day, "visits": visits or 0, "text": text, "by": username}


def resolved(app, when, title):
    [pid] = submit(app, "sec1", op("problem", title=title))
    submit(app, "sec1", op("problem", pid, base=1, status="resolved", resolution=f"{title}已解决"))
    shift(app, Problem, pid, resolved_at=utc(when))
    return when


def in_november_beijing(when: str) -> bool:
    local = utc(when).replace(tzinfo=dt.timezone.utc).astimezone(dt.timezone(dt.timedelta(hours=8)))
    return (local.year, local.month) == (2026, 11)


@pytest.fixture
def november(app, world):
    """A November of work in 一村 (V11), a little in 二村 (V12, same township) and in 三村 (V21, another)."""
    journals = [journal(app, "sec1", "2026-11-01", "十一月一日，走访一组", 3, "一组"),
                journal(app, "cadre1", "2026-11-01", "村干部也写了一篇", 2),
                journal(app, "sec1", "2026-11-15", "召开院坝会", 4, "二组院坝"),
                journal(app, "cadre1", "2026-11-20", "村干部独自走访", 1),  # listed, but no day of the residency
                journal(app, "sec1", "2026-11-30", "月末整理台账"),
                journal(app, "sec1", "2026-10-31", "十月最后一天"),
                journal(app, "sec1", "2026-12-01", "十二月第一天", 9)]
    journal(app, "sec12", "2026-11-05", "二村的日志", 1)
    journal(app, "sec2", "2026-11-05", "三村的秘密日志", 5)
    # The month boundary in Beijing time: 16:30Z on Oct 31 is 00:30 on Nov 1 in Beijing.
    resolutions = [resolved(app, "2026-10-31T16:30:00Z", "水渠堵了"),
                   resolved(app, "2026-10-31T15:59:00Z", "十月的问题"),
                   resolved(app, "2026-11-30T16:30:00Z", "十二月的问题")]
    submit(app, "sec1", op("problem", title="没解决的问题"))
    r1, r2 = submit(app, "sec1", op("request", content="修村道", resident_name=RESIDENT, resident_contact=CONTACT),
                    op("request", content="还没答复的诉求"))
    submit(app, "sec1", op("request", r1, base=1, status="answered", reply="已列入计划"))
    shift(app, Request, r1, answered_at=utc("2026-11-10T02:00:00Z"))
    [dispatched] = submit(app, "staff1", op("task", unit="V11", title="优待证", item_code="SX-042"))
    submit(app, "approver1", op("task", dispatched, base=1, gate="approved"))
    submit(app, "sec1", op("task", dispatched, base=2, status="done", note="已办好三张"))
    [own] = submit(app, "sec1", op("task", title="自己的计划"))
    submit(app, "sec1", op("task", own, base=1, status="done", note="完成"))
    shift(app, Task, dispatched, done_at=utc("2026-11-20T08:00:00Z"))
    shift(app, Task, own, done_at=utc("2026-12-01T01:00:00Z"))  # Dec 1 in Beijing: not November's
    [comment] = submit(app, "staff1", op("review", target_type="journal", target_id=journals[0]["id"],
                                         comment="请补充走访户的情况", decision="follow_up"))
    [reply] = submit(app, "sec1", op("review", target_type="journal", target_id=journals[0]["id"],
                                     comment="已补充三户的情况", reply_to=comment))
    for rid, when in ((comment, "2026-11-03T01:00:00Z"), (reply, "2026-11-03T06:00:00Z")):
        shift(app, Review, rid, created_at=utc(when))
    month = [j for j in journals if j["date"].startswith(MONTH)]
    return {
        "journals": month,
        "figures": {"days_in_village": len({j["date"] for j in month if j["by"] == "sec1"}), "journals": len(month),
                    "visits": sum(j["visits"] for j in month),
                    "problems_resolved": sum(in_november_beijing(w) for w in resolutions),
                    "requests_answered": 1, "tasks_done": 1},
    }


def figures_in(html):
    return {name: int(value) for name, value in re.findall(r'data-figure="(\w+)">(\d+)<', html)}


def test_the_page_counts_what_was_recorded_cut_at_midnight_beijing(client, november):
    assert november["figures"] == {"days_in_village": 3, "journals": 5, "visits": 10, "problems_resolved": 1,
                                   "requests_answered": 1, "tasks_done": 1}
    login(client, "sec1")
    response = client.get(f"/reports/monthly?month={MONTH}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert figures_in(html) == november["figures"]
    assert f"驻村天数：{november['figures']['days_in_village']} 天" in html
    positions = [html.index(j["text"]) for j in november["journals"]]
    assert positions == sorted(positions)  # the journals in order
    assert "十月最后一天" not in html and "十二月第一天" not in html and "二村的日志" not in html
    assert "水渠堵了" in html and "十月的问题" not in html and "十二月的问题" not in html
    assert "优待证" in html and "自己的计划" not in html
    assert "请补充走访户的情况" in html and "已补充三户的情况" in html  # the township's comment and its answer
    assert "北京时间" in html and RESIDENT in html  # the village's own people see the resident's name


def test_the_default_month_is_this_month_in_beijing():
    assert Month.parse(None, today=dt.date(2026, 11, 1)).label == "2026-11"
    start, end = Month.parse("2026-11").utc_bounds()
    assert (start, end) == (dt.datetime(2026, 10, 31, 16), dt.datetime(2026, 11, 30, 16))
    assert Month.parse("2026-12").shifted(1).label == "2027-01"


def test_a_month_with_nothing_says_so(client, november):
    login(client, "sec1")
    html = client.get("/reports/monthly?month=2026-09").get_data(as_text=True)
    assert "本月没有记录" in html and 'id="journal-' not in html
    assert figures_in(html) == dict.fromkeys(FIGURES, 0)
    assert "驻村天数：0 天" in html


def test_the_docx_holds_the_journals_in_order(client, november):
    login(client, "sec1")
    response = client.get(f"/reports/monthly?village=V11&month={MONTH}&format=docx")
    assert response.status_code == 200 and response.mimetype.endswith("wordprocessingml.document")
    disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''" in disposition and 'filename="zhucun-monthly-V11-2026-11.docx"' in disposition
    assert unquote(disposition.split("UTF-8''")[1]) == "驻村纪实-一村-2026-11.docx"
    document = docx.Document(io.BytesIO(response.data))
    text = "\n".join(p.text for p in document.paragraphs)
    positions = [text.index(j["text"]) for j in november["journals"]]
    assert positions == sorted(positions)
    assert f"驻村天数：{november['figures']['days_in_village']} 天" in text
    cells = {row.cells[0].text: row.cells[1].text for row in document.tables[0].rows}
    assert cells["走访户数"] == str(november["figures"]["visits"])
    assert any(p.style.name.startswith("Heading") for p in document.paragraphs)


def test_the_xlsx_opens_and_carries_the_figures(client, november):
    login(client, "sec1")
    response = client.get(f"/reports/monthly?month={MONTH}&format=xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    summary = {row[0]: row[1] for row in book.worksheets[0].iter_rows(values_only=True) if row and len(row) > 1}
    assert summary["驻村天数"] == november["figures"]["days_in_village"]
    assert summary["解决的问题"] == november["figures"]["problems_resolved"]
    journals = [row[4] for row in book["驻村日志"].iter_rows(min_row=2, values_only=True)]
    assert journals == [j["text"] for j in november["journals"]]


def _all_text(response, fmt):
    if fmt == "docx":
        document = docx.Document(io.BytesIO(response.data))
        cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
        return "\n".join([p.text for p in document.paragraphs] + cells)
    if fmt == "xlsx":
        book = openpyxl.load_workbook(io.BytesIO(response.data))
        return "\n".join(str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row if v)
    return response.get_data(as_text=True)


@pytest.mark.parametrize("fmt", ["html", "docx", "xlsx"])
def test_the_township_sees_residents_masked_in_every_format(client, november, fmt):
    login(client, "staff1")
    response = client.get(f"/reports/monthly?village=V11&month={MONTH}&format={fmt}")
    assert response.status_code == 200
    text = _all_text(response, fmt)
    assert MASKED in text and RESIDENT not in text and CONTACT not in text
    assert "修村道" in text and "十一月一日，走访一组" in text


def test_another_townships_village_is_404_and_leaks_nothing(client, november):
    login(client, "staff2")
    for fmt in ("html", "docx", "xlsx"):
        theirs = client.get(f"/reports/monthly?village=V11&month={MONTH}&format={fmt}")
        unknown = client.get(f"/reports/monthly?village=NOPE&month={MONTH}&format={fmt}")
        assert theirs.status_code == unknown.status_code == 404
        assert "一村" not in theirs.get_data(as_text=True).replace("V11", "")
    html = client.get("/reports/monthly").get_data(as_text=True)  # the chooser lists their own villages only
    assert "三村" in html and "一村" not in html and "二村" not in html
    login(client, "sec12")
    assert client.get(f"/reports/monthly?village=V11&month={MONTH}").status_code == 404


def test_bad_month_village_or_format_is_400_in_the_users_language(client, november):
    login(client, "sec1")
    for query in ("month=2026-13", "month=11-2026", "month=2026-1", "format=pdf", "village="):
        response = client.get(f"/reports/monthly?{query}")
        assert response.status_code == 400, query
    assert "2026-11" in client.get("/reports/monthly?month=nov").get_data(as_text=True)
    login(client, "sec1", lang="en")
    assert "is not a month" in client.get("/reports/monthly?month=2026-13").get_data(as_text=True)
    json = client.get("/reports/monthly?month=x", headers={"Accept": "application/json"})
    assert json.status_code == 400 and json.get_json()["error"]["code"] == "bad_request"


def test_anonymous_is_sent_to_log_in(client, world):
    response = client.get(f"/reports/monthly?month={MONTH}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    api = client.get(f"/api/reports/monthly?month={MONTH}")
    assert api.status_code == 401 and api.get_json()["error"]["code"] == "auth_required"


def test_the_county_endpoint_gives_the_same_counts_as_json_and_csv(client, november):
    token = client.post("/api/auth/token", json={"username": "admin", "password": PASSWORD}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    body = client.get(f"/api/reports/monthly?month={MONTH}", headers=headers).get_json()
    assert body["month"] == MONTH
    assert [v["code"] for v in body["villages"]] == ["V11", "V12", "V21"]  # by code, never by a figure
    v11 = body["villages"][0]
    assert {k: v11[k] for k in FIGURES} == november["figures"]
    assert (v11["name"], v11["township"]) == ("一村", "一镇")
    assert body["villages"][2]["journals"] == 1 and body["villages"][2]["visits"] == 5
    response = client.get(f"/api/reports/monthly?month={MONTH}&format=csv", headers=headers)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith("\ufeff".encode("utf-8"))
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert [r["code"] for r in rows] == ["V11", "V12", "V21"]
    assert {k: int(rows[0][k]) for k in FIGURES} == november["figures"]
    assert client.get("/api/reports/monthly?month=2026-13", headers=headers).status_code == 400


def test_the_county_endpoint_is_scoped_to_the_callers_villages(client, november):
    login(client, "staff2")  # a page session works too
    body = client.get(f"/api/reports/monthly?month={MONTH}").get_json()
    assert [v["code"] for v in body["villages"]] == ["V21"]
    login(client, "sec1")
    body = client.get(f"/api/reports/monthly?month={MONTH}").get_json()
    assert [v["code"] for v in body["villages"]] == ["V11"]


def test_the_page_prints_on_a4(client, november):
    login(client, "staff1")
    html = client.get(f"/reports/monthly?village=V11&month={MONTH}").get_data(as_text=True)
    href = re.search(r'href="(/static/css/print\.css[^"]*)"', html).group(1)
    css = client.get(href.replace("&amp;", "&")).get_data(as_text=True)
    assert re.search(r"@media print\s*{\s*@page\s*{\s*size:\s*A4", css)
