"""The ticket page's controls follow the ticket live: a colleague's change, your own changes one after another,
and a rule's change (said in words) all reach the actions box without a reload."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser


async def move(page: Page, status: str) -> None:
    """Pick a status in "Move to" and change it; the page must not report an error."""
    await page.locator("#move-status").select_option(status)
    await page.get_by_role("button", name="Change status").click()
    await expect(page.locator('[data-field="status"]')).to_have_text(status)
    await expect(page.locator('#flash[data-kind="error"]:not([hidden])')).to_have_count(0)


async def test_a_colleagues_change_and_your_own_update_the_actions_box_without_reload(
    server: Server, browser: Browser
) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    bea = server.account(admin, "agent", "Bea Agent")
    requester = server.account(admin, "requester", "Rita Requester")
    ticket = server.call("POST", "/api/tickets", requester, json={"title": "Monitor flickers", "description": "desk 4"})
    path = f"/tickets/{ticket['id']}"
    ada = await signed_in(browser, server, admin, path)
    colleague = await signed_in(browser, server, bea, path)
    await expect(ada.locator("#live-status")).to_have_attribute("data-state", "live")
    await ada.evaluate("window.loadedOnce = true")  # gone if the page reloads
    options = ada.locator("#move-status option")
    await expect(options).to_have_text(["open", "resolved"])

    await move(colleague, "open")
    await expect(ada.locator('[data-field="status"]')).to_have_text("open")  # pushed, no reload
    await expect(options).to_have_text(["pending", "resolved"])
    await move(ada, "pending")  # the version and the choices are today's: no "from 'open' to 'open'"
    await expect(options).to_have_text(["open", "resolved"])
    await move(ada, "open")  # a second change of your own, still without reload
    await expect(options).to_have_text(["pending", "resolved"])
    await ada.locator("#priority").select_option("high")
    await ada.get_by_role("button", name="Set priority").click()
    await expect(ada.locator('[data-field="priority"]')).to_have_text("high")
    await expect(ada.locator("#flash")).to_have_text("Saved")
    await expect(colleague.locator("#priority")).to_have_value("high")  # the colleague's select follows too
    assert await ada.evaluate("window.loadedOnce") is True
    await shoot(ada, "ticket-actions-live")


@pytest.mark.parametrize(
    "mode", ["server", pytest.param("scaleout_server", marks=[pytest.mark.postgres, pytest.mark.redis])]
)
async def test_a_rule_changing_the_ticket_is_named_on_the_page_and_the_controls_show_its_value(
    mode: str, request: pytest.FixtureRequest, browser: Browser
) -> None:
    # Scale-out: the rule runs in the worker process; the page's API process pushes its change from the log.
    server: Server = request.getfixturevalue(mode)
    admin = server.account(None, "admin", "Ada Admin")
    requester = server.account(admin, "requester", "Rita Requester")
    rule = {
        "name": "waiting on the customer is low",
        "kind": "prioritization",
        "conditions": {
            "all": [
                {"field": "status", "op": "equals", "value": "pending"},
                {"field": "priority", "op": "not_equals", "value": "low"},
            ]
        },
        "actions": [{"type": "set_priority", "value": "low"}],
    }
    server.call("POST", "/api/rules", admin, json=rule)
    ticket = server.call("POST", "/api/tickets", requester, json={"title": "Monitor flickers", "description": "desk 4"})
    page = await signed_in(browser, server, admin, f"/tickets/{ticket['id']}")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    await expect(page.locator("#priority")).to_have_value("normal")
    await move(page, "open")
    await expect(page.locator("#rule-notices")).to_be_hidden()
    await move(page, "pending")

    notice = page.locator("#rule-notices li")
    await expect(notice).to_have_text("Rule waiting on the customer is low set priority to low", timeout=10_000)
    await expect(page.locator('[data-field="priority"]')).to_have_text("low")
    await expect(page.locator("#priority")).to_have_value("low")
    await shoot(page, "ticket-rule-notice")
