"""Review comments (批注) on the phone: the township's comment arrives, the secretary answers offline."""
import re
import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from tests.conftest import PASSWORD

from .conftest import entry, log_in, open_view, records, sync_now, wait_controlled, wait_synced, write_journal

pytestmark = pytest.mark.browser


def user(username):
    from app.models import User
    return db.session.scalar(select(User).where(User.username == username))


def comment(app, target_type, target_id, text, decision=None, reply_to=None, username="staff1") -> str:
    """A township comment through the server's one write path; returns its id."""
    from app.sync_service import submit
    review_id = str(uuid.uuid4())
    fields = {"target_type": target_type, "target_id": target_id, "comment": text}
    if decision:
        fields["decision"] = decision
    if reply_to:
        fields["reply_to"] = reply_to
    with app.app_context():
        [result] = submit(user(username), [{"op": str(uuid.uuid4()), "type": "review", "id": review_id,
                                            "base": None, "set": fields}])
    assert result["status"] == "applied", result
    return review_id


def township_page(app, path):
    """A township page as staff1 sees it."""
    client = app.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").get_data(as_text=True))
    client.post("/login", data={"username": "staff1", "password": PASSWORD, "csrf_token": token.group(1)})
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def test_township_comment_reaches_the_phone_and_the_answer_written_offline_reaches_the_township(
        context, page, server, app):
    log_in(page, server)
    wait_controlled(page)
    wait_synced(page)
    write_journal(page, "走访三组低保户,了解冬季取暖")
    journal = entry(page, "走访三组低保户")
    expect(journal).to_have_attribute("data-state", "confirmed")
    [row] = records(app, "Journal")
    journal_id = row["id"]
    expect(journal.locator(".reviews")).to_be_hidden()  # no comments yet
    expect(page.locator("#sync-reviews")).to_be_hidden()

    comment_id = comment(app, "journal", journal_id, "请补充走访户的取暖设备情况", decision="follow_up")
    sync_now(page)
    strip = journal.locator(".reviews")
    expect(strip).to_be_visible()
    expect(strip).to_have_attribute("data-count", "1")
    expect(strip).to_have_attribute("data-unread", "1")
    expect(strip).to_have_attribute("data-decision", "follow_up")
    expect(strip.locator(".badge-review")).to_contain_text("1")
    expect(strip.locator(".badge-follow")).to_be_visible()
    expect(strip.locator(".badge-new")).to_be_visible()
    expect(strip.locator(".review-last")).to_have_text("请补充走访户的取暖设备情况")
    expect(page.locator("#sync-reviews")).to_be_visible()
    expect(page.locator("#sync-reviews")).to_contain_text("1")

    # Offline: open the thread (it marks the comment read), answer it; the reply waits in the outbox.
    context.set_offline(True)
    server.hits.clear()
    strip.click()
    thread = page.locator("#thread")
    expect(thread).to_be_visible()
    expect(page.locator("#thread-about")).to_contain_text(str(row["date"]))
    first = thread.locator(f".review[data-id='{comment_id}']")
    expect(first).to_contain_text("staff1")
    expect(first).to_contain_text("请补充走访户的取暖设备情况")
    expect(first).to_have_attribute("data-decision", "follow_up")
    expect(first).to_have_class(re.compile(r"\br-new\b"))
    expect(page.locator("#sync-reviews")).to_be_hidden()  # read now
    expect(strip).to_have_attribute("data-unread", "0")
    expect(strip.locator(".badge-new")).to_be_hidden()

    thread.locator("[type=submit]").click()  # empty: asked to write something, nothing saved
    expect(page.locator("#reply-error")).to_be_visible()
    thread.locator("[name=comment]").fill("已补充:12户都有电暖器,2户需更换")
    thread.locator("[type=submit]").click()
    reply = thread.locator(".review.r-mine")
    expect(reply).to_have_count(1)
    expect(reply).to_have_attribute("data-state", "waiting")
    expect(reply).to_contain_text("已补充:12户都有电暖器")
    expect(reply.locator(".r-to")).to_contain_text("staff1")
    expect(thread.locator(".review")).to_have_count(2)  # oldest first: the comment, then the reply
    expect(thread.locator(".review").first).to_have_attribute("data-id", comment_id)
    expect(page.locator("#sync-waiting")).to_contain_text("1")
    page.click("#thread-close")
    expect(strip).to_have_attribute("data-count", "2")
    # Replies are part of the thread, not items of their own.
    expect(page.locator("#journal-list .entry")).to_have_count(1)
    assert server.hits == []

    page.reload()  # kept on the phone
    expect(strip).to_have_attribute("data-count", "2")
    expect(strip).to_have_attribute("data-unread", "0")
    strip.click()
    expect(reply).to_have_attribute("data-state", "waiting")
    assert records(app, "Review", reply_to=comment_id) == []

    context.set_offline(False)  # the phone syncs on `online`, the thread stays open
    expect(reply).to_have_attribute("data-state", "confirmed")
    wait_synced(page)
    page.click("#thread-close")
    expect(page.locator("#sync-waiting")).not_to_have_class(re.compile("has-waiting"))

    # The township sees the answer in the thread.
    from app.sync_service import thread as record_thread
    with app.app_context():
        reviews = record_thread(user("staff1"), "journal", journal_id)
    assert [r["id"] for r in reviews][0] == comment_id
    [answer] = [r for r in reviews if r["id"] != comment_id]
    assert answer["reply_to"] == comment_id and answer["author"] == "sec1"
    assert answer["comment"] == "已补充:12户都有电暖器,2户需更换" and answer["decision"] is None
    html = township_page(app, f"/township/records/journal/{journal_id}")
    assert f"review-{comment_id}" in html and f"review-{answer['id']}" in html and "已补充:12户都有电暖器" in html

    # The history dialog has the thread too.
    journal.locator(".more > summary").click()
    journal.locator(".entry-history").click()
    expect(page.locator("#history-reviews .review")).to_have_count(2)


def test_new_comment_after_reading_is_unread_again_and_the_sync_bar_opens_it(page, server, app):
    log_in(page, server)
    wait_synced(page)
    open_view(page, "problems")
    page.click("[data-new=problem]")
    page.fill("#problem-form [name=title]", "五组路灯不亮")
    page.click("#problem-form [type=submit]")
    problem = page.locator("#problem-list .entry", has_text="五组路灯不亮")
    expect(problem).to_have_attribute("data-state", "confirmed")
    [row] = records(app, "Problem")
    first = comment(app, "problem", row["id"], "尽快处理", decision="ok")
    page.click("#sync-now")
    strip = problem.locator(".reviews")
    expect(strip).to_have_attribute("data-unread", "1")
    expect(strip.locator(".badge-follow")).to_be_hidden()  # decided: fine
    strip.click()
    expect(page.locator("#thread .review")).to_have_count(1)
    page.click("#thread-close")
    expect(strip).to_have_attribute("data-unread", "0")

    comment(app, "problem", row["id"], "村民又反映了,请本周内修好", decision="follow_up", reply_to=first)
    open_view(page, "journal")
    sync_now(page)
    bar = page.locator("#sync-reviews")
    expect(bar).to_be_visible()
    bar.click()  # straight to the record's thread, in its view
    expect(page.locator("#view-problems")).to_be_visible()
    thread = page.locator("#thread")
    expect(thread.locator(".review")).to_have_count(2)
    expect(thread.locator(".review.r-new")).to_have_count(1)
    expect(thread.locator(".review.r-new")).to_contain_text("请本周内修好")
    expect(bar).to_be_hidden()
    page.click("#thread-close")
    expect(strip).to_have_attribute("data-decision", "follow_up")
    expect(strip.locator(".badge-follow")).to_be_visible()


# ---------------------------------------------------------------- the township's queue in Chromium

def test_the_township_queue_opens_with_what_needs_an_answer_and_marks_a_village_at_once(browser, server, app):
    """The reviewer sees the urgent problem first and the journals as one block per village; the village's
    button marks its journals in one go and says how many; the other village stays."""
    from app.sync_service import submit
    with app.app_context():
        ops = [{"op": str(uuid.uuid4()), "type": "journal", "id": str(uuid.uuid4()), "base": None,
                "set": {"text": f"走访第{i}户", "visits": 1}} for i in range(37)]
        ops.append({"op": str(uuid.uuid4()), "type": "problem", "id": str(uuid.uuid4()), "base": None,
                    "set": {"title": "水渠决口", "urgent": True}})
        assert all(r["status"] == "applied" for r in submit(user("sec1"), ops))
        [other] = submit(user("sec12"), [{"op": str(uuid.uuid4()), "type": "journal", "id": str(uuid.uuid4()),
                                          "base": None, "set": {"text": "二村的日志"}}])
        assert other["status"] == "applied"
    page = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN").new_page()
    page.goto(f"{server}/login")
    page.fill("#login-form [name=username]", "staff1")
    page.fill("#login-form [name=password]", PASSWORD)
    page.click("#login-form [type=submit]")
    page.wait_for_url(f"{server}/township/**")
    page.goto(f"{server}/township/review")

    first = page.locator("#needs-answer .tw-queue-item").first
    expect(first).to_contain_text("水渠决口")
    expect(first.locator(".tw-why")).to_have_text("紧急问题，尚未解决")
    expect(page.locator(".tw-queue-item[data-type=journal]")).to_have_count(0)
    block = page.locator("#digest-V11")
    expect(block).to_contain_text("37 篇新日志")
    expect(block).to_contain_text("走访 37 户")
    expect(block.locator(".tw-digest-newest li")).to_have_count(3)
    expect(page.locator("#review-count")).to_have_text("39")

    block.get_by_role("button", name="将这 37 篇日志标为已阅").click()
    expect(page.locator(".flash-success")).to_have_text("已将 一村 的 37 条标为已阅。")
    expect(page.locator("#digest-V11")).to_have_count(0)
    expect(page.locator("#digest-V12")).to_contain_text("二村的日志")
    expect(page.locator("#needs-answer")).to_contain_text("水渠决口")
    expect(page.locator("#review-count")).to_have_text("2")
