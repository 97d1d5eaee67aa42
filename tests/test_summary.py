"""The weekly report in words: sentences generated from a seeded week, checked one by one, in Chinese and
English; an empty week says so."""
import datetime as dt
import html
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Problem, Request, Unit, utcnow
from app.reports.figures import Week
from app.reports.summary import weekly_summary
from tests.conftest import on_both_databases
from tests.test_punctuation import half_width_marks
from tests.test_reports import dispatch, op, shift, submit
from tests.test_township_records import login

database_url = on_both_databases()
THIS_WEEK = Week.parse(None)


def summary(app, codes, week=THIS_WEEK, lang="zh_CN"):
    with app.test_request_context("/", headers={"Cookie": f"lang={lang}"}):
        villages = list(db.session.scalars(select(Unit).where(Unit.code.in_(codes)).order_by(Unit.code)))
        return weekly_summary(villages, week)


@pytest.fixture
def week_of_work(app, world):
    """A week in V11: journals, problems (two urgent still open), requests, a task, the township's follow-ups."""
    submit(app, "sec1", [op("journal", text="走访", date=str(THIS_WEEK.monday), visits=3),
                         op("journal", text="又走访", date=str(THIS_WEEK.monday), visits=4)])
    ditch, lamp, rubbish = submit(app, "sec1", [op("problem", title="水渠堵了", urgent=True),
                                                op("problem", title="路灯坏了", urgent=True),
                                                op("problem", title="垃圾清运", urgent=True)])
    shift(app, Problem, [ditch], created_at=utcnow() - dt.timedelta(days=15))
    submit(app, "sec1", [op("problem", rubbish, base=1, status="resolved", resolution="已清运")])
    road, aid = submit(app, "sec1", [op("request", content="修路", resident_name="张三丰"),
                                     op("request", content="低保", resident_name="李四")])
    submit(app, "sec1", [op("request", road, base=1, status="answered", reply="已安排")])
    shift(app, Request, [aid], created_at=utcnow() - dt.timedelta(days=20))
    [task] = dispatch(app, op("task", unit="V11", title="优待证", item_code="SX-042"))
    submit(app, "sec1", [op("task", task, base=2, status="done", note="已办")])
    asked_ditch, asked_lamp = submit(app, "approver1", [
        op("review", target_type="problem", target_id=ditch, comment="请说明何时修好", decision="follow_up"),
        op("review", target_type="problem", target_id=lamp, comment="路灯要尽快修\n附近有学校", decision="follow_up")])
    submit(app, "sec1", [op("review", target_type="problem", target_id=lamp, comment="明天修", reply_to=asked_lamp)])


def test_a_seeded_week_in_chinese_sentence_by_sentence(app, week_of_work):
    sentences = summary(app, ["V11", "V12"])
    assert sentences == [
        "本周 2 个村共写了 2 篇民情日记，走访 7 户，新记下 2 个问题，解决 1 个问题，收到 1 条群众诉求，"
        "答复 1 条诉求，办结 1 项任务。",
        "还有 2 个紧急问题没有解决：“水渠堵了”（一村，已 15 天）、“路灯坏了”（一村，刚提出）。",
        "有 1 条群众诉求等待答复，已等了 20 天。",
        "乡镇提出需跟进 2 次：“请说明何时修好”、“路灯要尽快修”。",
        "已回复 1 次，还有 1 次没有回复。",
    ]
    for sentence in sentences:
        assert half_width_marks(sentence) == [], sentence
        assert "张三丰" not in sentence and "李四" not in sentence


def test_one_village_is_named_and_the_same_week_reads_in_english(app, week_of_work):
    zh = summary(app, ["V11"])
    assert zh[0].startswith("本周一村写了 2 篇民情日记，") and "（已 15 天）" in zh[1]
    en = summary(app, ["V11"], lang="en")
    assert en[0] == ("This week 一村 wrote 2 journals, visited 7 households, recorded 2 new problems, "
                     "resolved 1 problem, took down 1 resident's request, answered 1 request, finished 1 task.")
    assert en[1] == "2 urgent problems are still open: “水渠堵了” (open 15 days), “路灯坏了” (just raised)."
    assert en[2] == "A resident's request is waiting for an answer, for 20 days now."
    assert en[3] == "The township asked for follow-up 2 times: “请说明何时修好”, “路灯要尽快修”."
    assert en[4] == "Answered: 1; not yet: 1."


def test_many_urgent_problems_name_the_oldest_five(app, world):
    submit(app, "sec1", [op("problem", title=f"急事{n}", urgent=True) for n in range(1, 8)])
    [named] = summary(app, ["V11"])[1:]
    assert named == ("仍未解决的紧急问题有：“急事1”（刚提出）、“急事2”（刚提出）、“急事3”（刚提出）、"
                     "“急事4”（刚提出）、“急事5”（刚提出）等 7 个。")


def test_a_follow_up_answered_and_one_not_at_all(app, world):
    [pid] = submit(app, "sec1", [op("problem", title="桥")])
    [asked] = submit(app, "approver1", [op("review", target_type="problem", target_id=pid, comment="桥修得怎样",
                                           decision="follow_up")])
    assert summary(app, ["V11"])[-1] == "村里还没有回复。"
    submit(app, "sec1", [op("review", target_type="problem", target_id=pid, comment="已修好", reply_to=asked)])
    assert summary(app, ["V11"])[-2:] == ["乡镇提出需跟进 1 次：“桥修得怎样”。", "村里已回复。"]


def test_an_empty_week_says_so(app, world):
    assert summary(app, ["V11", "V12"]) == ["本周没有记录。"]
    assert summary(app, ["V11"], lang="en") == ["No records this week."]


def test_a_week_before_the_records_has_none(app, week_of_work):
    """Last week: nothing recorded; what was already there by its end (the ditch, raised 15 days ago, and the
    request waiting since 20 days ago) is still told, the lamp raised this week is not."""
    nothing, ditch, waiting = summary(app, ["V11", "V12"], week=THIS_WEEK.shifted(-1))
    assert nothing == "本周没有记录。"
    assert re.fullmatch(r"还有 1 个紧急问题没有解决：“水渠堵了”（一村，已 \d+ 天）。", ditch)
    assert re.fullmatch(r"有 1 条群众诉求等待答复，已等了 \d+ 天。", waiting)


def test_the_weekly_report_opens_with_the_summary(client, app, week_of_work):
    login(client, "staff1", lang="zh_CN")
    page = client.get("/township/reports/weekly").get_data(as_text=True)
    block = re.search(r'<section class="tw-summary".*?<h2[^>]*>(.*?)</h2>\s*<p id="weekly-summary">(.*?)</p>',
                      page, re.S)
    assert block and block.group(1) == "本周小结"
    text = html.unescape(block.group(2))
    assert text.startswith("本周 2 个村共写了 2 篇民情日记，") and "。还有 2 个紧急问题没有解决：" in text
    assert page.index("tw-summary") < page.index("tw-report")
