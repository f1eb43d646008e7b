"""The bell in Chromium: a round-robin assignment raises the agent's unread count live, and reading clears it."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser


async def test_round_robin_assignment_rings_the_bell_live(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    agent = server.account(admin, "agent", "Alan Agent")
    requester = server.account(admin, "requester", "Rita Requester")
    category = server.call("POST", "/api/categories", admin, json={"name": "Hardware", "agent_ids": [agent.id]})
    page = await signed_in(browser, server, agent, "/queue")
    await expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible(timeout=10_000)
    bell = page.locator("#bell-count")
    await expect(bell).to_be_hidden()

    body = {"title": "Laptop will not boot", "description": "since this morning", "category_id": category["id"]}
    ticket = server.call("POST", "/api/tickets", requester, json=body)
    await expect(bell).to_have_text("1", timeout=10_000)  # no reload: pushed over the WebSocket
    assert server.call("GET", f"/api/tickets/{ticket['id']}", agent)["assignee_id"] == agent.id

    await page.locator("#bell").click()
    await page.wait_for_url(server.url + "/notifications")
    item = page.locator("li.notification").first
    await expect(item).to_contain_text("Assigned to Alan Agent")
    await expect(item).to_contain_text("the ticket was assigned to you")
    await shoot(page, "notifications")
    await item.get_by_role("button", name="Mark read").click()
    await expect(bell).to_be_hidden(timeout=10_000)
    await expect(page.locator("#unread-summary")).to_have_text("0 unread")
    await item.get_by_role("link", name="Laptop will not boot").click()
    await page.wait_for_url(server.url + f"/tickets/{ticket['id']}")
    await page.get_by_role("button", name="Watch").click()
    await expect(page.get_by_role("button", name="Unwatch")).to_be_visible()


async def test_preferences_are_saved_from_the_account_page(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    page = await signed_in(browser, server, admin, "/account")
    await expect(page.get_by_label("Comments on your tickets by email")).to_be_checked()
    await page.get_by_label("Comments on your tickets by email").uncheck()
    await page.get_by_label("Email", exact=True).select_option("daily")
    await page.get_by_role("button", name="Save notification settings").click()
    await expect(page.locator("#prefs-saved")).to_have_text("Saved.")
    prefs = server.call("GET", "/api/auth/me/notification-preferences", admin)
    assert prefs["email"]["comments"] is False and prefs["in_app"]["comments"] is True and prefs["digest"] == "daily"
    await page.reload()
    await expect(page.get_by_label("Comments on your tickets by email")).not_to_be_checked()
