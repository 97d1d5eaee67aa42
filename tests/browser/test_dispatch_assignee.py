"""The dispatch form's assignee list follows the villages ticked, in Chromium: none or several villages, no
assignee; one village, only its people."""
import pytest
from playwright.sync_api import expect

from .test_gate_flow import township_page

pytestmark = pytest.mark.browser


def offered(page):
    return page.locator("#assignee option").evaluate_all("options => options.map(o => o.value)")


def test_the_assignee_list_offers_only_the_chosen_villages_people(browser, server):
    page = township_page(browser, server, "staff1")
    page.goto(f"{server}/township/dispatch")
    assignee = page.locator("#assignee")
    expect(assignee).to_be_disabled()
    assert offered(page) == [""]

    page.check("#village-step [name=villages][value=V11]")
    expect(assignee).to_be_enabled()
    assert offered(page) == ["", "cadre1", "sec1"]
    assignee.select_option("cadre1")

    page.check("#village-step [name=villages][value=V12]")
    expect(assignee).to_be_disabled()
    assert offered(page) == [""]

    page.uncheck("#village-step [name=villages][value=V11]")
    expect(assignee).to_be_enabled()
    assert offered(page) == ["", "sec12"]
    expect(assignee).to_have_value("")   # cadre1 is not V12's: the choice does not carry over
