"""Error pages: the project's page in the reader's language (Chinese unless English was chosen), saying what
was wrong; JSON with the same words for a client that asks for JSON; never Werkzeug's bare English page."""
from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

REPORT = "/township/reports/weekly"


@pytest.fixture
def boom(app):
    """A test-only route that fails, registered before the app serves its first request."""
    def fail():
        raise RuntimeError("boom")
    app.add_url_rule("/test-only/boom", "test_boom", fail)
    app.config["PROPAGATE_EXCEPTIONS"] = False   # answer as in production instead of raising into the test
    return "/test-only/boom"


def login(client, username, lang=None):
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    if lang:
        assert client.get(f"/lang/{lang}").status_code == 302


def error_page(response, status):
    assert response.status_code == status
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert 'class="card error-page"' in html, html[:300]
    assert "Bad Request" not in html and "Internal Server Error" not in html and "Werkzeug" not in html
    return html


CASES = [  # (status, how to get it, Chinese words, English words)
    (400, ("get", REPORT + "?week=2026-W99"), ["请求无法识别", "错误代码 400"],
     ["The request could not be understood", "“2026-W99” is not a week", "Error 400"]),
    (403, ("post", "/township/approvals/decide"), ["没有权限", "您的账号不能打开这个页面。", "错误代码 403"],
     ["Not allowed", "Your account may not open this page.", "Error 403"]),
    (404, ("get", "/township/no-such-page"), ["页面不存在", "错误代码 404"], ["Page not found", "Error 404"]),
    (500, ("get", None), ["服务器出错了", "手机上的内容没有丢失，请稍后再试。", "错误代码 500"],
     ["The server failed", "Nothing was lost on the phone.", "Error 500"]),
]


@pytest.mark.parametrize("lang", [None, "en"])
@pytest.mark.parametrize("status, request_, chinese, english", CASES, ids=[str(c[0]) for c in CASES])
def test_error_pages_speak_the_readers_language(client, world, boom, lang, status, request_, chinese, english):
    login(client, "staff1", lang)   # staff, not an approver: deciding is 403
    method, path = request_
    html = error_page(getattr(client, method)(path or boom), status)
    if lang is None:
        assert 'lang="zh-CN"' in html
        assert all(words in html for words in chinese), chinese
        assert english[0] not in html
    else:
        assert 'lang="en"' in html
        assert all(words in html.replace("&#34;", '"') for words in english), english
        assert chinese[0] not in html


@pytest.mark.parametrize("query, chinese, english", [
    ("?week=bad", "不是周次", "“bad” is not a week: write it like 2026-W48"),
    ("?by=street", "周报可以按村或按乡镇汇总", "A report is by village or by township"),
    ("?format=pdf", "周报提供 HTML、CSV 和 XLSX 三种格式", "A report comes as HTML, CSV or XLSX"),
])
def test_bad_report_parameters_say_what_is_wrong(client, world, query, chinese, english):
    login(client, "staff1")
    assert chinese in error_page(client.get(REPORT + query), 400)
    client.get("/lang/en")
    assert english in error_page(client.get(REPORT + query), 400)


def test_a_township_outside_the_area_and_an_unknown_one_get_the_same_answer(client, world):
    login(client, "staff1", "en")
    theirs = error_page(client.get(REPORT + "?township=T2"), 404)
    unknown = error_page(client.get(REPORT + "?township=ZZ"), 404)
    assert "There is no township “T2” in your area." in theirs
    assert theirs.replace("T2", "ZZ") == unknown


def test_json_clients_get_json_with_the_same_words(client, world, boom):
    login(client, "staff1")
    accept = {"Accept": "application/json"}
    response = client.get(REPORT + "?format=pdf", headers=accept)
    assert response.status_code == 400 and response.mimetype == "application/json"
    assert response.get_json()["error"] == {"code": "bad_request",
                                            "message": "周报提供 HTML、CSV 和 XLSX 三种格式（format=html、csv 或 xlsx）。"}
    response = client.get(boom, headers=accept)
    assert response.status_code == 500 and response.get_json()["error"]["code"] == "server_error"
    response = client.get("/township/no-such-page", headers=accept)
    assert response.status_code == 404 and response.get_json()["error"]["message"] == "这个页面或记录不存在，或者不在您的管辖范围内。"
