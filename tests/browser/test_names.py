"""The phone names people as pages do (王建国, not sec1): in its header, its pickers and the township's comments,
offline too; what it sends keeps usernames."""
import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from app.extensions import db
from app.models import User

from .conftest import entry, log_in, open_view, records, sync_now, wait_controlled, wait_synced, write_journal
from .test_reviews import comment

pytestmark = pytest.mark.browser

NAMES = {"sec1": "王建国", "cadre1": "李秀兰", "staff1": "陈明"}
OWNER_OPTIONS = """() => [...document.querySelectorAll('#problem-form [name=owner] option')]
  .map((o) => [o.value, o.textContent.trim()])"""


@pytest.fixture
def named(app, world):
    with app.app_context():
        for username, name in NAMES.items():
            db.session.execute(update(User).where(User.username == username).values(display_name=name))
        db.session.commit()


def test_the_phone_names_people_and_sends_usernames(context, page, server, app, named):
    log_in(page, server)
    wait_controlled(page)
    wait_synced(page)
    expect(page.locator("#who")).to_contain_text("王建国")
    expect(page.locator("#who")).not_to_contain_text("sec1")

    write_journal(page, "走访五组，了解饮水情况")
    expect(entry(page, "走访五组")).to_have_attribute("data-state", "confirmed")
    [journal] = records(app, "Journal")
    comment(app, "journal", journal["id"], "请附上水质检测结果")
    sync_now(page)

    context.set_offline(True)
    page.reload()
    expect(page.locator("#who")).to_contain_text("王建国")
    entry(page, "走访五组").locator(".reviews").click()
    expect(page.locator("#thread .review").first).to_contain_text("陈明")
    expect(page.locator("#thread .review").first).not_to_contain_text("staff1")
    page.click("#thread-close")

    open_view(page, "problems")
    page.click("[data-new=problem]")
    options = page.evaluate(OWNER_OPTIONS)
    assert [value for value, _ in options] == ["", "cadre1", "sec1"], "township staff are named, not offered"
    assert [text for _, text in options][1:] == ["李秀兰", "王建国"]
    page.fill("#problem-form [name=title]", "五组水井需要清淤")
    page.select_option("#problem-form [name=owner]", "cadre1")
    page.click("#problem-form [type=submit]")
    context.set_offline(False)
    sync_now(page)
    [problem] = records(app, "Problem")
    assert problem["owner"] == "cadre1"
