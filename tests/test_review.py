"""The township's workspace: the review queue (审阅) and marks, comments (批注) through the op log and back
to the phone, the thread on a record page, the village overview's figures, and search and filters with
pagination on every list. On SQLite and on PostgreSQL."""
from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from sqlalchemy import func, select, update

from app import sync_service
from app.extensions import db
from app.models import SYNCED_MODELS, OpLog, Problem, Request, Review, ReviewMark, Task, Unit, User, utcnow
from app.township.queries import local_today
from tests.conftest import PAST_YEAR, PASSWORD, on_both_databases


database_url = on_both_databases()


# ---------------------------------------------------------------- helpers

def login(client, username, lang="en"):
    client.post("/logout")
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    # The Chinese strings of these pages are merged into the catalogue by the lead; assert on English.
    client.set_cookie("lang", lang)


def op(rtype, record_id=None, base=None, unit=None, **fields):
    out = {"op": str(uuid.uuid4()), "type": rtype, "id": record_id or str(uuid.uuid4()), "base": base,
           "set": fields}
    return out | ({"unit": unit} if unit else {})


def submit(app, username, *ops):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        results = sync_service.submit(user, list(ops))
    assert all(r["status"] in ("applied", "merged") for r in results), results
    return [o["id"] for o in ops]


def create(app, username, rtype, unit=None, **fields):
    return submit(app, username, op(rtype, unit=unit, **fields))[0]


def edit(app, username, rtype, record_id, **fields):
    with app.app_context():
        base = db.session.get(SYNCED_MODELS[rtype], record_id).version
    submit(app, username, op(rtype, record_id, base, **fields))


OFFLIST = "县里临时部署，不在事项清单上"   # an off-list task's reason (the dispatch gate wants ten characters)


def dispatch(app, *ops, author="staff1"):
    """Township tasks sent by `author` and approved by approver1 (the dispatch gate), so they reached their
    villages; returns their ids."""
    ids = submit(app, author, *ops)
    submit(app, "approver1", *[op("task", i, base=1, gate="approved") for i in ids])
    return ids


def shift(app, model, ids, **columns):
    """Move records' server times into the past, as if they had been made then."""
    with app.app_context():
        db.session.execute(update(model).where(model.id.in_(ids)).values(**columns))
        db.session.commit()


def page(client, path, status=200):
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    return response.get_data(as_text=True)


def queued(html):
    """[(type, id)] of the review queue's items, in the order shown."""
    return re.findall(r'id="queue-(\w+)-([0-9a-f-]{36})"', html)


def section(html, element_id):
    """The HTML of the <section id=…> (up to the next section of the same level or the end)."""
    start = html.find(f'id="{element_id}"')
    if start < 0:
        return ""
    depth, at = 1, html.index(">", start)
    while depth:
        opening, closing = html.find("<section", at), html.find("</section>", at)
        if 0 <= opening < closing:
            depth, at = depth + 1, opening + 8
        else:
            depth, at = depth - 1, closing + 10
    return html[start:at]


def digest(html):
    """{village code: its block} of the journal digest."""
    return {code: section(html, f"digest-{code}") for code in re.findall(r'id="digest-(\w+)"', html)}


def mark_all_form(html, where=None):
    """(action, shown_at) of a "mark all" form: the whole queue's, or the first inside the element `where`."""
    part = section(html, where) if where else html[html.index('id="mark-all"') - 200:]
    match = re.search(r'<form method="post" action="([^"]+)" class="tw-inline tw-mark-all"[^>]*>.*?'
                      r'name="shown_at" value="([^"]+)"', part, re.S)
    return match.group(1).replace("&amp;", "&"), match.group(2)


def mark_all(client, html, where=None, **changes):
    action, shown_at = mark_all_form(html, where)
    response = client.post(action, data={"shown_at": shown_at, "next": "/township/review"} | changes,
                           follow_redirects=True)
    return response.get_data(as_text=True)


def marks(app, username):
    with app.app_context():
        return set(db.session.scalars(select(ReviewMark.record_id).where(
            ReviewMark.user_id == user_id(app, username))))


def nav_count(html):
    match = re.search(r'<span class="tw-count" id="review-count"[^>]*>(\d+)</span>', html)
    return int(match.group(1)) if match else 0


def listed(html, rtype):
    return re.findall(rf'id="{rtype}-([0-9a-f-]{{36}})"', html)


def flashes(html, category):
    return re.findall(r'<p class="flash flash-' + category + r'" role="alert">(.*?)</p>', html, re.S)


def user_id(app, username):
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def phone(client, username):
    response = client.post("/api/auth/token", json={"username": username, "password": PASSWORD,
                                                    "device_name": "红米"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    return body["device"], {"Authorization": f"Bearer {body['token']}"}


def sync(client, device, headers, ops=(), cursor=None):
    response = client.post("/api/sync", json={"device": device, "cursor": cursor, "ops": list(ops)},
                           headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def work(app, world):
    """One record of each kind in V11, a journal in V12, and two records of the other township (V21)."""
    ids = {
        "journal": create(app, "sec1", "journal", text="走访五户", date=f"{PAST_YEAR}-03-03"),
        "problem": create(app, "sec1", "problem", title="水渠堵了", urgent=True),
        "meeting": create(app, "sec1", "meeting", topic="议事亭茶话", date=f"{PAST_YEAR}-03-04"),
        "request": create(app, "sec1", "request", content="路灯坏了", resident_name="张三丰",
                          resident_contact="13812345678"),
        "task": create(app, "cadre1", "task", title="村里自己的任务"),
        "v12": create(app, "sec12", "journal", text="二村的日志", date=f"{PAST_YEAR}-03-05"),
        "far_journal": create(app, "sec2", "journal", text="三村的日志", date=f"{PAST_YEAR}-03-03"),
        "far_problem": create(app, "sec2", "problem", title="三村的问题"),
    }
    return ids


T1_KEYS = ("journal", "problem", "meeting", "request", "task", "v12")


# ---------------------------------------------------------------- the queue

def test_queue_lists_new_records_of_the_reviewers_villages_only(client, app, work):
    login(client, "staff1")
    html = page(client, "/township/review")
    items = queued(html)
    # Journals are summed up per village, never listed one by one.
    assert {i for _t, i in items} == {work[k] for k in ("problem", "meeting", "request", "task")}
    blocks = digest(html)
    assert list(blocks) == ["V11", "V12"]
    assert "1 new journal" in blocks["V11"] and "走访五户" in blocks["V11"] and "二村的日志" in blocks["V12"]
    assert 'href="/township/journals?village=V11"' in blocks["V11"]
    assert "三村" not in html and work["far_journal"] not in html
    assert nav_count(html) == 6 and "6 records wait for your review" in html
    assert nav_count(page(client, "/township/problems")) == 6          # the count is in every page's nav
    # The urgent problem needs an answer and comes first; the rest by village, newest change first.
    assert [i for _t, i in queued(section(html, "needs-answer"))] == [work["problem"]]
    assert "Urgent problem, not yet resolved" in section(html, "needs-answer")
    assert [i for _t, i in queued(section(html, "other-changes"))] == [work[k] for k in ("task", "request", "meeting")]
    assert html.index('id="needs-answer"') < html.index('id="other-changes"') < html.index('id="journal-digest"')
    # What an item shows: kind, author, date, summary, link, comments; personal data masked.
    item = html[html.index(f'id="queue-request-{work["request"]}"'):]
    item = item[:item.index("</li>")]
    assert "Resident request" in item and "sec1" in item and "路灯坏了" in item and "0 comments" in item
    assert f'href="/township/records/request/{work["request"]}"' in item
    assert "张三丰" not in html and "13812345678" not in html
    assert "Urgent" in html[html.index(f'id="queue-problem-{work["problem"]}"'):]

    login(client, "staff2")
    html = page(client, "/township/review")
    assert queued(html) == [("problem", work["far_problem"])] and list(digest(html)) == ["V21"]
    assert nav_count(html) == 2 and "一村" not in html and "走访五户" not in html

    login(client, "admin")
    html = page(client, "/township/review")
    assert len(queued(html)) == 5 and list(digest(html)) == ["V11", "V12", "V21"]


def test_what_needs_an_answer_comes_first(client, app, world):
    """Urgent problems, flagged tasks, the villages' replies and requests left waiting come before plain
    changes, each saying why; within a kind the oldest first; plain journals only in the digest."""
    plain_problem, urgent_old, urgent_new = submit(
        app, "sec1", op("problem", title="普通问题"), op("problem", title="急事旧", urgent=True),
        op("problem", title="急事新", urgent=True))
    shift(app, Problem, [urgent_old], updated_at=utcnow() - dt.timedelta(days=3))
    [flagged] = dispatch(app, op("task", unit="V11", title="重复的任务", item_code="SX-101"))
    edit(app, "sec1", "task", flagged, flag="burden", flag_note="上周已报过")
    [plain_task] = dispatch(app, op("task", unit="V12", title="普通任务", item_code="SX-108"))
    meeting = create(app, "sec12", "meeting", topic="议事亭", date=f"{PAST_YEAR}-03-04")
    login(client, "staff1")
    client.post("/township/review/comment", data={"target_type": "meeting", "target_id": meeting, "version": "1",
                                                  "comment": "人数多少？", "decision": "follow_up"})
    create(app, "sec12", "review", target_type="meeting", target_id=meeting, comment="二十人")
    waiting, fresh = submit(app, "sec1", op("request", content="老问题"), op("request", content="新诉求"))
    shift(app, Request, [waiting], created_at=utcnow() - dt.timedelta(days=20))
    journal = create(app, "sec1", "journal", text="走访", date=f"{PAST_YEAR}-03-03", visits=4)

    html = page(client, "/township/review")
    first = section(html, "needs-answer")
    assert queued(first) == [("problem", urgent_old), ("problem", urgent_new), ("task", flagged),
                             ("meeting", meeting), ("request", waiting)]
    assert "Flagged by the village: Too heavy a burden" in first
    assert "The village replied or commented since you looked" in first
    assert "The resident has waited more than 14 days for an answer" in first
    assert set(queued(section(html, "other-changes"))) == {("problem", plain_problem), ("task", plain_task),
                                                           ("request", fresh)}
    assert html.index('id="needs-answer"') < html.index('id="other-changes"')
    assert ("journal", journal) not in queued(html) and "4 households visited" in digest(html)["V11"]
    assert nav_count(html) == 9
    # A resolved urgent problem no longer needs an answer.
    edit(app, "sec1", "problem", urgent_new, status="resolved", resolution="修好了")
    html = page(client, "/township/review")
    assert ("problem", urgent_new) in queued(section(html, "other-changes"))


def test_conflicts_and_replies_on_journals_need_an_answer_too(client, app, world):
    meeting = create(app, "sec1", "meeting", topic="初稿", date=f"{PAST_YEAR}-03-04")
    submit(app, "sec1", op("meeting", meeting, base=1, topic="书记的版本"))
    submit(app, "cadre1", op("meeting", meeting, base=1, topic="村委的版本"))     # both changed the topic
    journal = create(app, "sec1", "journal", text="走访", date=f"{PAST_YEAR}-03-03")
    login(client, "staff1")
    client.post("/township/review/comment", data={"target_type": "journal", "target_id": journal, "version": "1",
                                                  "comment": "几户？"})
    create(app, "cadre1", "review", target_type="journal", target_id=journal, comment="五户")
    # A colleague's comment is a plain change, not a village's answer.
    plain = create(app, "sec1", "problem", title="普通")
    client.post("/township/review/mark", data={"item": f"problem:{plain}:1"})
    login(client, "approver1")
    client.post("/township/review/comment", data={"target_type": "problem", "target_id": plain, "version": "1",
                                                  "comment": "看过"})
    login(client, "staff1")
    html = page(client, "/township/review")
    first = section(html, "needs-answer")
    assert queued(first) == [("meeting", meeting), ("journal", journal)]
    assert "Conflicting changes to settle" in first and "Conflict" in first
    assert queued(section(html, "other-changes")) == [("problem", plain)] and digest(html) == {}
    assert "New comment or reply" in section(html, "other-changes")


def test_the_digest_sums_up_a_villages_journals(client, app, world):
    start = dt.date(PAST_YEAR, 1, 1)
    submit(app, "sec1", *[op("journal", text=f"日志{i:03d}\n第二行", date=(start + dt.timedelta(days=i)).isoformat(),
                             visits=2) for i in range(60)])
    login(client, "staff1")
    html = page(client, "/township/review")
    assert queued(html) == [] and "60 records wait for your review" in html
    block = digest(html)["V11"]
    assert "60 new journals" in block and "120 households visited" in block
    assert f"{PAST_YEAR}-01-01 to {(start + dt.timedelta(days=59)).isoformat()}" in block
    newest = re.findall(r"<li>(.*?)</li>", block)
    assert newest == ["日志059", "日志058", "日志057"]
    assert "Mark these 60 journals as read" in block
    assert page(client, "/township/review?type=problem").count('id="digest-') == 0


def test_mark_all_for_one_village_marks_exactly_its_waiting_records(client, app, world):
    v11 = submit(app, "sec1", *[op("journal", text=f"日志{i}", date=f"{PAST_YEAR}-03-01") for i in range(37)])
    v11_problem = create(app, "sec1", "problem", title="一村的问题")
    v12 = [create(app, "sec12", "journal", text="二村"), create(app, "sec12", "request", content="二村诉求")]
    create(app, "sec2", "journal", text="三村")
    login(client, "staff1")
    html = page(client, "/township/review")
    # The digest's button marks the village's journals.
    done = mark_all(client, html, "digest-V11")
    assert "Marked 37 records of 一村 as read." in flashes(done, "success")
    assert marks(app, "staff1") == set(v11)
    assert {i for _t, i in queued(done)} == {v11_problem, v12[1]} and nav_count(done) == 3
    # The village's button marks everything of the village; the other village stays.
    done = mark_all(client, page(client, "/township/review"), "village-V11")
    assert "Marked 1 record of 一村 as read." in flashes(done, "success")
    assert marks(app, "staff1") == set(v11) | {v11_problem}
    assert nav_count(done) == 2 and list(digest(done)) == ["V12"]
    login(client, "approver1")                       # another reviewer's queue is their own
    assert nav_count(page(client, "/township/review")) == 40
    login(client, "staff2")
    assert marks(app, "staff2") == set() and "三村" in digest(page(client, "/township/review"))["V21"]


def test_mark_all_empties_the_queue_under_its_filters(client, app, work):
    login(client, "staff1")
    html = page(client, "/township/review?type=problem")
    done = mark_all(client, html)
    assert "Marked 1 record as read." in flashes(done, "success")
    assert marks(app, "staff1") == {work["problem"]}
    shown = page(client, "/township/review")
    assert nav_count(shown) == 5
    done = mark_all(client, shown)
    assert "Marked 5 records as read." in flashes(done, "success")
    html = page(client, "/township/review")
    assert nav_count(html) == 0 and queued(html) == [] and digest(html) == {}
    assert "Nothing waits for your review." in html and 'id="mark-all"' not in html
    assert marks(app, "staff1") == {work[k] for k in T1_KEYS}
    # The same form sent again marks nothing and says so.
    assert "Nothing was marked" in " ".join(flashes(mark_all(client, shown), "info"))


def test_a_change_after_the_page_was_shown_stays_in_the_queue(client, app, work):
    login(client, "staff1")
    html = page(client, "/township/review")
    # While the reviewer reads: the village edits the problem, writes a journal, answers on the meeting.
    edit(app, "sec1", "problem", work["problem"], status="in_progress")
    create(app, "sec1", "journal", text="晚到的日志", date=f"{PAST_YEAR}-03-06")
    create(app, "sec1", "review", target_type="meeting", target_id=work["meeting"], comment="补充一句")
    done = mark_all(client, html)
    assert "Marked 5 records as read." in flashes(done, "success")
    html = page(client, "/township/review")
    assert set(queued(html)) == {("problem", work["problem"]), ("meeting", work["meeting"])}
    assert "1 new journal" in digest(html)["V11"] and "晚到的日志" in digest(html)["V11"]
    with app.app_context():
        mark = db.session.get(ReviewMark, (user_id(app, "staff1"), "meeting", work["meeting"]))
        assert mark.version == 1
    # A form whose time is not one marks nothing at all.
    action, _shown = mark_all_form(html)
    response = client.post(action, data={"shown_at": "not-a-time"}, follow_redirects=True)
    assert flashes(response.get_data(as_text=True), "error") and nav_count(page(client, "/township/review")) == 3


def test_mark_all_outside_the_scope_is_404_and_marks_nothing(client, app, work):
    login(client, "staff1")
    _action, shown_at = mark_all_form(page(client, "/township/review"))
    for village in ("V21", "NOPE"):
        response = client.post(f"/township/review/mark-all?village={village}", data={"shown_at": shown_at})
        assert response.status_code == 404
    assert marks(app, "staff1") == set()
    login(client, "staff2")
    assert client.post("/township/review/mark-all?village=V11", data={"shown_at": shown_at}).status_code == 404
    assert marks(app, "staff2") == set()
    assert client.get("/township/review?village=V11").status_code == 404


def test_marking_removes_an_item_until_it_changes_again(client, app, work):
    login(client, "staff1")
    response = client.post("/township/review/mark", data={"item": f"problem:{work['problem']}:1",
                                                          "next": "/township/review"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/township/review")
    html = page(client, "/township/review")
    assert work["problem"] not in html and nav_count(html) == 5
    with app.app_context():
        mark = db.session.get(ReviewMark, (user_id(app, "staff1"), "problem", work["problem"]))
        assert mark.version == 1
    # Another reviewer's queue is their own.
    login(client, "approver1")
    assert work["problem"] in page(client, "/township/review")

    # The village edits it: back in the queue, saying why.
    edit(app, "sec1", "problem", work["problem"], status="in_progress")
    login(client, "staff1")
    html = page(client, "/township/review")
    assert ("problem", work["problem"]) in queued(html) and nav_count(html) == 6
    item = html[html.index(f'id="queue-problem-{work["problem"]}"'):]
    assert "Changed since you looked" in item[:item.index("</li>")]

    # A mark of the version the reviewer saw (1) does not hide the change made since (2).
    client.post("/township/review/mark", data={"item": f"problem:{work['problem']}:1"})
    assert ("problem", work["problem"]) in queued(page(client, "/township/review"))
    client.post("/township/review/mark", data={"item": f"problem:{work['problem']}:2"})
    assert ("problem", work["problem"]) not in queued(page(client, "/township/review"))
    # A stale form never moves a mark back.
    client.post("/township/review/mark", data={"item": f"problem:{work['problem']}:1"})
    with app.app_context():
        assert db.session.get(ReviewMark, (user_id(app, "staff1"), "problem", work["problem"])).version == 2


def test_marking_outside_the_scope_does_nothing(client, app, world):
    mine = create(app, "sec1", "journal", text="一村")
    far = create(app, "sec2", "journal", text="三村")
    login(client, "staff1")
    response = client.post("/township/review/mark", data={"item": f"journal:{far}:1"}, follow_redirects=True)
    assert flashes(response.get_data(as_text=True), "error")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReviewMark)
                                 .where(ReviewMark.record_id == far)) == 0
    # A foreign `next` is not followed.
    response = client.post("/township/review/mark", data={"item": f"journal:{mine}:1",
                                                          "next": "https://example.com/x"})
    assert response.headers["Location"].endswith("/township/review")


def test_the_reviewers_own_changes_are_not_in_their_queue(client, app, world):
    # The approver's own on-list task passes the gate at once, so the village can work on it.
    task = create(app, "approver1", "task", unit="V11", title="办理老年优待证", item_code="SX-042")
    login(client, "approver1")
    assert task not in page(client, "/township/review")
    login(client, "staff1")
    assert ("task", task) in queued(page(client, "/township/review"))
    edit(app, "sec1", "task", task, status="in_progress")
    login(client, "approver1")
    assert ("task", task) in queued(page(client, "/township/review"))


def test_queue_filters_and_pagination_keep_them(client, app, world):
    submit(app, "sec1", *[op("problem", title=f"修水渠 {i}") for i in range(55)])
    other = create(app, "sec1", "problem", title="修水渠 早")
    shift(app, Problem, [other], created_at=utcnow() - dt.timedelta(days=40))
    v12 = create(app, "sec12", "problem", title="修水渠 二村")
    request_id = create(app, "sec1", "request", content="修水渠的诉求")
    create(app, "sec1", "journal", text="修水渠", date=f"{PAST_YEAR}-03-10")
    create(app, "sec1", "journal", text="修路", date=f"{PAST_YEAR}-03-10")
    login(client, "staff1")
    today = local_today().isoformat()
    path = f"/township/review?village=V11&type=problem&from={today}&to={today}&q=水渠"
    first = page(client, path)
    assert len(queued(first)) == 50 and all(t == "problem" for t, _i in queued(first))
    link = re.search(r'<a rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert "village=V11" in link and "type=problem" in link and f"from={today}" in link
    assert f"to={today}" in link and "q=" in link and "page=2" in link
    second = page(client, link)
    assert len(queued(second)) == 5
    shown = {i for _t, i in queued(first) + queued(second)}
    assert other not in shown and v12 not in shown and request_id not in shown
    # "Mark all" under these filters marks these 55 and nothing else.
    done = mark_all(client, second)
    assert "Marked 55 records of 一村 as read." in flashes(done, "success")
    assert marks(app, "staff1") == shown
    assert ("request", request_id) in queued(page(client, "/township/review?type=request"))
    assert queued(page(client, "/township/review?type=problem&status=resolved")) == []
    html = page(client, "/township/review?type=journal&q=水渠")
    assert "1 new journal" in digest(html)["V11"] and "修水渠" in digest(html)["V11"] and queued(html) == []
    html = page(client, "/township/review?from=not-a-date")
    assert "is not a date" in html and len(queued(html)) == 3
    page(client, "/township/review?village=V21", status=404)


# ---------------------------------------------------------------- comments (批注)

def test_a_comment_goes_through_the_op_log_to_the_phone(client, app, work):
    login(client, "staff1")
    response = client.post("/township/review/comment", data={
        "target_type": "journal", "target_id": work["journal"], "version": "1", "next": "/township/review",
        "comment": "请补充走访照片", "decision": "follow_up"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/township/review")
    with app.app_context():
        logged = db.session.scalar(select(OpLog).where(OpLog.type == "review"))
        assert logged.status == "applied" and logged.user_id == user_id(app, "staff1")
        assert logged.changes["target_id"] == work["journal"] and logged.changes["decision"] == "follow_up"
        comment = db.session.get(Review, logged.record_id)
        assert comment.unit_id == db.session.scalar(select(Unit.id).where(Unit.code == "V11"))
        assert db.session.get(ReviewMark, (user_id(app, "staff1"), "journal", work["journal"])).version == 1
    html = page(client, "/township/review")
    assert ("journal", work["journal"]) not in queued(html)      # commenting marks it reviewed
    record = page(client, f"/township/records/journal/{work['journal']}")
    thread = record[record.index('id="thread"'):record.index('id="conflicts"')]
    assert "请补充走访照片" in thread and "Needs follow-up" in thread and "tw-decision-follow_up" in thread
    assert "You marked version 1 reviewed" in thread

    # The secretary's phone receives it.
    device, headers = phone(client, "sec1")
    changes = sync(client, device, headers)["changes"]
    reviews = [c for c in changes if c["type"] == "review"]
    assert len(reviews) == 1 and reviews[0]["id"] == logged.record_id
    assert reviews[0]["fields"]["comment"] == "请补充走访照片" and reviews[0]["fields"]["decision"] == "follow_up"
    # …and the other township sees nothing of it.
    device2, headers2 = phone(client, "sec2")
    assert not [c for c in sync(client, device2, headers2)["changes"] if c["type"] == "review"]
    login(client, "staff2")
    html = page(client, "/township/review")
    assert nav_count(html) == 2 and "请补充走访照片" not in html and work["journal"] not in html
    page(client, f"/township/records/journal/{work['journal']}", status=404)
    # Nor may it comment on the other township's record.
    assert client.post("/township/review/comment", data={
        "target_type": "journal", "target_id": work["journal"], "comment": "越权"}).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OpLog).where(OpLog.type == "review")) == 1


def test_a_reply_from_the_phone_shows_in_the_thread_and_brings_the_record_back(client, app, work):
    login(client, "staff1")
    client.post("/township/review/comment", data={
        "target_type": "problem", "target_id": work["problem"], "version": "1",
        "comment": "什么时候能修好？", "decision": "follow_up"})
    assert ("problem", work["problem"]) not in queued(page(client, "/township/review"))
    with app.app_context():
        comment_id = db.session.scalar(select(Review.id).where(Review.target_id == work["problem"]))

    device, headers = phone(client, "sec1")
    reply = op("review", target_type="problem", target_id=work["problem"], comment="已联系施工队，周五完工",
               reply_to=comment_id)
    result = sync(client, device, headers, [reply])["results"][0]
    assert result["status"] == "applied", result

    html = page(client, "/township/review")
    assert ("problem", work["problem"]) in queued(html)
    item = html[html.index(f'id="queue-problem-{work["problem"]}"'):]
    item = item[:item.index("</li>")]
    assert "New comment or reply" in item and "2 comments" in item

    record = page(client, f"/township/records/problem/{work['problem']}")
    thread = record[record.index('id="thread"'):record.index('id="conflicts"')]
    assert thread.index("什么时候能修好？") < thread.index("已联系施工队，周五完工")
    replies = thread[thread.index('class="tw-replies"'):]
    assert f'id="review-{reply["id"]}"' in replies and "from-village" in replies and "sec1" in replies

    # The township answers in the thread; a reply from the web is a review with reply_to.
    client.post("/township/review/comment", data={
        "target_type": "problem", "target_id": work["problem"], "reply_to": comment_id,
        "comment": "好的", "decision": "ok", "next": f"/township/records/problem/{work['problem']}"})
    with app.app_context():
        answer = db.session.scalar(select(Review).where(Review.comment == "好的"))
        assert answer.reply_to == comment_id and answer.decision == "ok"
    assert ("problem", work["problem"]) not in queued(page(client, "/township/review"))


def test_a_rejected_comment_says_why_and_marks_nothing(client, app, work):
    login(client, "staff1")
    response = client.post("/township/review/comment", data={
        "target_type": "journal", "target_id": work["journal"], "comment": "  ", "decision": "ok"},
        follow_redirects=True)
    assert "is required" in " ".join(flashes(response.get_data(as_text=True), "error"))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Review)) == 0
        assert db.session.scalar(select(func.count()).select_from(ReviewMark)) == 0


def test_the_record_page_marks_reviewed(client, app, work):
    login(client, "approver1")
    path = f"/township/records/meeting/{work['meeting']}"
    assert "not marked this record reviewed" in page(client, path)
    response = client.post("/township/review/mark", data={"item": f"meeting:{work['meeting']}:1", "next": path})
    assert response.headers["Location"].endswith(path)
    html = page(client, path)
    assert "You marked version 1 reviewed" in html
    assert ("meeting", work["meeting"]) not in queued(page(client, "/township/review"))
    edit(app, "sec1", "meeting", work["meeting"], attendance=20)
    assert "Changed since you reviewed it (version 1, now 2)" in page(client, path)


def test_review_pages_need_a_township_role(client, world):
    assert "/login" in client.get("/township/review").headers["Location"]
    login(client, "sec1")
    assert client.get("/township/review").status_code == 302
    assert client.post("/township/review/mark", data={"item": "journal:x:1"}).status_code == 302


def test_nav_links_review_and_weekly_report(client, world):
    login(client, "staff1")
    html = page(client, "/township/journals")
    assert 'href="/township/review"' in html and 'href="/township/reports/weekly"' in html
    report = page(client, "/township/reports/weekly")
    assert 'href="/township/review"' in report and 'aria-current="page">Weekly report' in report


# ---------------------------------------------------------------- village overview

def overview_row(html, code):
    match = re.search(r'<tr[^>]* id="village-' + code + r'">(.*?)</tr>', html, re.S)
    assert match, code
    return {name: int(value) for name, value in
            re.findall(r'data-figure="(\w+)"[^>]*>(?:<a[^>]*>)?(\d+)<', match.group(1))}


def test_overview_figures_equal_the_records(client, app, world):
    today = local_today()
    yesterday, tomorrow = (today - dt.timedelta(days=1)).isoformat(), (today + dt.timedelta(days=1)).isoformat()
    # V11: problems in every state, urgent or not; V12: one urgent; V21 (other township): noise.
    p_open, p_urgent, p_progress, p_resolved, p_urgent_resolved = submit(
        app, "sec1", op("problem", title="a"), op("problem", title="b", urgent=True),
        op("problem", title="c", urgent=True), op("problem", title="d"), op("problem", title="e", urgent=True))
    edit(app, "sec1", "problem", p_progress, status="in_progress")
    edit(app, "sec1", "problem", p_resolved, status="resolved", resolution="好了")
    edit(app, "sec1", "problem", p_urgent_resolved, status="resolved", resolution="好了")
    create(app, "sec12", "problem", title="f", urgent=True)
    create(app, "sec2", "problem", title="g", urgent=True)
    # Tasks: overdue (due yesterday, not done), done though due yesterday, due tomorrow, no due date.
    late, done, _future, _none = dispatch(
        app, op("task", unit="V11", title="late", due=yesterday, offlist_reason=OFFLIST),
        op("task", unit="V11", title="done", due=yesterday, offlist_reason=OFFLIST),
        op("task", unit="V11", title="future", due=tomorrow, offlist_reason=OFFLIST),
        op("task", unit="V11", title="none", offlist_reason=OFFLIST))
    edit(app, "sec1", "task", done, status="done", note="已办")
    [late12] = dispatch(app, op("task", unit="V12", title="late", due="2020-01-01", item_code="SX-108"))
    edit(app, "sec12", "task", late12, status="in_progress")
    create(app, "staff2", "task", unit="V21", title="late", due="2020-01-01", item_code="SX-108")
    # Requests: old and waiting (recorded, accepted), old but answered, new and waiting.
    old1, old2, answered, _new = submit(app, "sec1", op("request", content="1"), op("request", content="2"),
                                        op("request", content="3"), op("request", content="4"))
    edit(app, "sec1", "request", old2, status="accepted")
    edit(app, "sec1", "request", answered, status="answered", reply="已答复")
    shift(app, Request, [old1, old2, answered], created_at=utcnow() - dt.timedelta(days=20))
    far = create(app, "sec2", "request", content="5")
    shift(app, Request, [far], created_at=utcnow() - dt.timedelta(days=20))
    now = utcnow()
    for code in ("V11", "V12", "V21"):
        with app.app_context():
            db.session.execute(update(Unit).where(Unit.code == code).values(last_sync_at=now))
            db.session.commit()

    # The expected figures, counted here from the rows themselves.
    with app.app_context():
        units = {u.id: u.code for u in db.session.scalars(select(Unit))}
        expected = {code: {"open_problems": 0, "urgent_problems": 0, "overdue_tasks": 0, "old_requests": 0}
                    for code in ("V11", "V12")}
        for p in db.session.scalars(select(Problem)):
            code = units[p.unit_id]
            if code in expected and p.status in ("open", "in_progress"):
                expected[code]["open_problems"] += 1
                expected[code]["urgent_problems"] += int(p.urgent)
        for t in db.session.scalars(select(Task)):
            code = units[t.unit_id]
            if code in expected and t.due is not None and t.due < today and t.status != "done":
                expected[code]["overdue_tasks"] += 1
        for r in db.session.scalars(select(Request)):
            code = units[r.unit_id]
            if code in expected and r.status in ("recorded", "accepted") and r.created_at < now - dt.timedelta(days=14):
                expected[code]["old_requests"] += 1
    assert expected["V11"] == {"open_problems": 3, "urgent_problems": 2, "overdue_tasks": 1, "old_requests": 2}

    login(client, "staff1")
    html = page(client, "/township/villages")
    assert overview_row(html, "V11") == expected["V11"]
    assert overview_row(html, "V12") == expected["V12"]
    assert 'id="village-V21"' not in html
    # Nobody is silent; the most urgent problems first. No scores or ranks on the page.
    assert html.index('id="village-V11"') < html.index('id="village-V12"')
    assert "rank" not in html.lower().replace("not a ranking", "")

    # Silence comes before urgent problems (silent: no sync and none of its own writes for 9 days).
    with app.app_context():
        v12 = db.session.scalar(select(Unit.id).where(Unit.code == "V12"))
        db.session.execute(update(Unit).where(Unit.id == v12).values(last_sync_at=now - dt.timedelta(days=9)))
        for model in SYNCED_MODELS.values():
            db.session.execute(update(model).where(model.unit_id == v12).values(
                created_at=now - dt.timedelta(days=9), updated_at=now - dt.timedelta(days=9)))
        db.session.commit()
    html = page(client, "/township/villages")
    assert html.index('id="village-V12"') < html.index('id="village-V11"')


def test_overview_sorts_overdue_tasks_then_old_requests(client, app, world):
    with app.app_context():
        from app.cli import add_unit
        add_unit("V13", "四村", "village", "T1")
        db.session.execute(update(Unit).values(last_sync_at=utcnow()))
        db.session.commit()
    dispatch(app, op("task", unit="V13", title="late", due="2020-01-01", item_code="SX-108"))
    old = create(app, "sec12", "request", content="old")
    shift(app, Request, [old], created_at=utcnow() - dt.timedelta(days=15))
    login(client, "staff1")
    html = page(client, "/township/villages")
    assert html.index('id="village-V13"') < html.index('id="village-V12"') < html.index('id="village-V11"')


# ---------------------------------------------------------------- search and filters on every list

def test_journal_filters(client, app, world):
    a = create(app, "sec1", "journal", text="走访低保户", date=f"{PAST_YEAR}-03-01", places="村东")
    b = create(app, "sec1", "journal", text="修水渠", date=f"{PAST_YEAR}-03-15")
    c = create(app, "sec12", "journal", text="走访老人", date=f"{PAST_YEAR}-03-10")
    login(client, "staff1")
    assert set(listed(page(client, "/township/journals?village=V11"), "journal")) == {a, b}
    assert set(listed(page(client, f"/township/journals?from={PAST_YEAR}-03-05&to={PAST_YEAR}-03-31"), "journal")) == {b, c}
    assert set(listed(page(client, f"/township/journals?to={PAST_YEAR}-03-10"), "journal")) == {a, c}
    assert set(listed(page(client, "/township/journals?q=走访"), "journal")) == {a, c}
    assert set(listed(page(client, "/township/journals?q=村东"), "journal")) == {a}    # places too
    assert set(listed(page(client, "/township/journals?q=走访+老人"), "journal")) == {c}  # every word
    assert listed(page(client, "/township/journals?q=100%25"), "journal") == []         # % is not a wildcard
    html = page(client, f"/township/journals?village=V11&from={PAST_YEAR}-02-30&q=走访")
    assert f"“{PAST_YEAR}-02-30” is not a date" in html
    assert set(listed(html, "journal")) == {a}                 # other filters still apply
    html = page(client, f"/township/journals?from={PAST_YEAR}-04-01&to={PAST_YEAR}-03-01")
    assert "after the end date" in html and len(listed(html, "journal")) == 3


def test_problem_filters_by_created_day_status_category_text(client, app, world):
    a = create(app, "sec1", "problem", title="饮水困难", category="饮水", detail="井水浑浊")
    b = create(app, "sec1", "problem", title="路灯坏了", category="道路")
    c = create(app, "sec12", "problem", title="饮水管道", category="饮水")
    edit(app, "sec1", "problem", b, status="in_progress")
    # Recorded on 1 March and 20 March, Beijing time (the stored times are UTC).
    shift(app, Problem, [a], created_at=dt.datetime(PAST_YEAR, 2, 28, 17, 0))    # 1 March 01:00 in Beijing
    shift(app, Problem, [b, c], created_at=dt.datetime(PAST_YEAR, 3, 20, 3, 0))
    login(client, "staff1")
    html = page(client, "/township/problems")
    assert '<option value="饮水"' in html and '<option value="道路"' in html
    assert set(listed(page(client, "/township/problems?category=饮水"), "problem")) == {a, c}
    assert set(listed(page(client, "/township/problems?status=in_progress"), "problem")) == {b}
    assert set(listed(page(client, f"/township/problems?from={PAST_YEAR}-03-01&to={PAST_YEAR}-03-01"), "problem")) == {a}
    assert set(listed(page(client, f"/township/problems?to={PAST_YEAR}-02-28"), "problem")) == set()
    assert set(listed(page(client, "/township/problems?q=浑浊"), "problem")) == {a}      # detail too
    assert set(listed(page(client, "/township/problems?village=V12&category=饮水"), "problem")) == {c}


def test_request_meeting_task_filters(client, app, world):
    r1 = create(app, "sec1", "request", content="修路", category="道路", resident_name="李四")
    r2 = create(app, "sec12", "request", content="低保", category="民政")
    edit(app, "sec12", "request", r2, status="accepted")
    login(client, "staff1")
    assert set(listed(page(client, "/township/requests?category=道路"), "request")) == {r1}
    assert set(listed(page(client, "/township/requests?status=accepted"), "request")) == {r2}
    assert set(listed(page(client, "/township/requests?q=低保"), "request")) == {r2}
    assert listed(page(client, "/township/requests?q=李四"), "request") == []     # names are not searchable
    today = local_today().isoformat()
    assert set(listed(page(client, f"/township/requests?from={today}&to={today}"), "request")) == {r1, r2}

    m1 = create(app, "sec1", "meeting", topic="垃圾池", date=f"{PAST_YEAR}-05-01", minutes="志愿者轮流清理")
    m2 = create(app, "sec12", "meeting", topic="修路", date=f"{PAST_YEAR}-06-01")
    assert set(listed(page(client, f"/township/meetings?from={PAST_YEAR}-05-15"), "meeting")) == {m2}
    assert set(listed(page(client, "/township/meetings?q=志愿者"), "meeting")) == {m1}
    assert set(listed(page(client, "/township/meetings?village=V11"), "meeting")) == {m1}

    t1, t2, t3 = dispatch(app, op("task", unit="V11", title="优待证", due=f"{PAST_YEAR}-04-10", item_code="SX-042"),
                          op("task", unit="V12", title="巡查河道", due=f"{PAST_YEAR}-05-10", item_code="SX-101"),
                          op("task", unit="V11", title="巡查山林", item_code="SX-108"))
    edit(app, "sec1", "task", t3, status="done", note="已巡查")
    assert set(listed(page(client, f"/township/tasks?from={PAST_YEAR}-04-01&to={PAST_YEAR}-04-30"), "task")) == {t1}
    assert set(listed(page(client, "/township/tasks?q=巡查"), "task")) == {t2, t3}
    assert set(listed(page(client, "/township/tasks?q=巡查&status=done"), "task")) == {t3}
    assert set(listed(page(client, "/township/tasks?village=V12&to=bad"), "task")) == {t2}


def test_pagination_keeps_the_filters(client, app, world):
    submit(app, "sec1", *[op("problem", title=f"饮水问题{i:02d}", category="饮水") for i in range(55)])
    submit(app, "sec1", *[op("problem", title=f"道路问题{i}", category="道路") for i in range(5)])
    login(client, "staff1")
    first = page(client, "/township/problems?village=V11&status=open&category=饮水&q=问题")
    assert len(listed(first, "problem")) == 50
    link = re.search(r'<a rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    for part in ("village=V11", "status=open", "category=", "q=", "page=2"):
        assert part in link, (part, link)
    second = page(client, link)
    assert len(listed(second, "problem")) == 5 and "道路问题" not in second
    # Journals: the date range travels too.
    submit(app, "sec1", *[op("journal", text=f"日志{i}", date=f"{PAST_YEAR}-03-10") for i in range(51)])
    first = page(client, f"/township/journals?from={PAST_YEAR}-03-01&to={PAST_YEAR}-03-31")
    assert f'href="/township/journals?from={PAST_YEAR}-03-01&amp;to={PAST_YEAR}-03-31&amp;page=2"' in first


def test_a_bad_date_is_a_message_never_a_500(client, app, world):
    create(app, "sec1", "journal", text="一篇", date=f"{PAST_YEAR}-03-01")
    login(client, "staff1")
    for path in ("/township/journals", "/township/problems", "/township/requests", "/township/meetings",
                 "/township/tasks", "/township/review"):
        for bad in (f"from={PAST_YEAR}-13-01", "to=yesterday", "from=%00", f"from={PAST_YEAR}-03-01&to=2024-01-01"):
            response = client.get(f"{path}?{bad}")
            assert response.status_code == 200, (path, bad)
            assert 'class="form-error tw-filter-error"' in response.get_data(as_text=True), (path, bad)


def test_odd_characters_in_the_filters_are_harmless(client, app, world):
    a = create(app, "sec1", "problem", title="饮水 困难", category="饮水")
    login(client, "staff1")
    for path in ("/township/problems?q=%00", "/township/problems?category=%00%01",
                 "/township/review?q=%00&type=problem", "/township/journals?q=_%25%5C"):
        assert client.get(path).status_code == 200, path
    assert set(listed(page(client, "/township/problems?q=饮水%00困难"), "problem")) == {a}


def test_marking_and_commenting_need_a_csrf_token(app, work, database_url):
    from tests.conftest import make_app
    protected = make_app(database_url, WTF_CSRF_ENABLED=True)
    client = protected.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": "staff1", "password": PASSWORD, "csrf_token": token})
    client.set_cookie("lang", "en")
    html = client.get("/township/review").get_data(as_text=True)
    form_token = re.search(r'<input type="hidden" name="csrf_token" value="([^"]+)">', html).group(1)
    item = f"journal:{work['journal']}:1"
    assert client.post("/township/review/mark", data={"item": item}).status_code in (302, 400)
    _action, shown_at = mark_all_form(html)
    assert client.post("/township/review/mark-all", data={"shown_at": shown_at}).status_code in (302, 400)
    assert client.post("/township/review/comment", data={
        "target_type": "journal", "target_id": work["journal"], "comment": "无令牌"}).status_code in (302, 400)
    with protected.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReviewMark)) == 0
        assert db.session.scalar(select(func.count()).select_from(Review)) == 0
    client.post("/township/review/mark", data={"item": item, "csrf_token": form_token})
    client.post("/township/review/comment", data={"target_type": "problem", "target_id": work["problem"],
                                                  "comment": "有令牌", "csrf_token": form_token})
    with protected.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReviewMark)) == 2
        assert db.session.scalar(select(Review.comment)) == "有令牌"
        db.engine.dispose()


@pytest.mark.parametrize("path", [
    "/township/journals?page=99999999999999999999999", "/township/review?page=99999999999999999999999",
    "/township/problems?from=0001-01-01&to=9999-12-31", "/township/reports/weekly?week=9999-W52",
    "/township/reports/weekly?week=0001-W01", "/township/charts/activity.svg?week=9999-W52",
])
def test_odd_parameters_never_fail_the_page(client, world, path):
    login(client, "staff1")
    assert client.get(path).status_code in (200, 400)
