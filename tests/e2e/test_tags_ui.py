"""Tags on the ticket page, by keyboard: an agent adds two, a colleague's page shows them live, one is removed
with its button, and the queue shows them in the row and filters by them."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser


async def test_an_agent_tags_a_ticket_by_keyboard_and_a_colleague_sees_it_live(
    server: Server, browser: Browser
) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    bea = server.account(admin, "agent", "Bea Agent")
    requester = server.account(admin, "requester", "Rita Requester")
    ticket = server.call("POST", "/api/tickets", requester, json={"title": "VPN drops", "description": "floor 3"})
    other = server.call("POST", "/api/tickets", requester, json={"title": "Printer jams", "description": "floor 2"})
    path = f"/tickets/{ticket['id']}"
    ada = await signed_in(browser, server, admin, path)
    colleague = await signed_in(browser, server, bea, path)
    await expect(colleague.locator("#live-status")).to_have_attribute("data-state", "live")
    await colleague.evaluate("window.loadedOnce = true")  # gone if the page reloads

    await ada.locator("#tag-input").focus()
    await ada.keyboard.type("VPN, Floor-3")
    await ada.keyboard.press("Enter")
    tags = ada.locator("#ticket-tags .tag-name")
    await expect(tags).to_have_text(["vpn", "floor-3"])
    await expect(colleague.locator("#ticket-tags .tag-name")).to_have_text(["vpn", "floor-3"])  # pushed, no reload
    await expect(ada.locator("#tag-input")).to_have_value("")  # ready for the next tag
    assert await colleague.evaluate("window.loadedOnce") is True
    await shoot(ada, "ticket-tags")

    await ada.get_by_role("button", name="Remove tag floor-3").focus()
    await ada.keyboard.press("Enter")
    await expect(tags).to_have_text(["vpn"])
    await expect(colleague.locator("#ticket-tags .tag-name")).to_have_text(["vpn"])

    queue = await signed_in(browser, server, admin, "/queue")
    await expect(queue.locator(f'tr[data-ticket-id="{ticket["id"]}"] .ticket-tag')).to_have_text(["vpn"])
    await queue.locator("#f-tag").select_option("vpn")
    await queue.get_by_role("button", name="Filter").click()
    await expect(queue.locator("#queue-table tbody tr")).to_have_count(1)
    await expect(queue.locator(f'tr[data-ticket-id="{other["id"]}"]')).to_have_count(0)
    await shoot(queue, "queue-tag-filter")
