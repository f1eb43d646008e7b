"""Merge from the ticket page: an agent merges a customer's second ticket about one outage into the first from its
page (picked by number, confirmed), the page turns into a pointer to the survivor, and the survivor carries the
second request. The mail side of the story (the next reply lands on the survivor) is
tests/integration/test_mail_after_merge.py: `nixflow mail receive` costs seconds per call on a loaded CI box."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Dialog, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser


async def test_an_agent_merges_a_duplicate_from_the_page_and_it_points_to_the_survivor(
    server: Server, browser: Browser
) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    rita = server.account(admin, "requester", "Rita Customer")
    first = server.call("POST", "/api/tickets", rita, json={"title": "VPN outage", "description": "The VPN is down."})
    second = server.call("POST", "/api/tickets", rita, json={"title": "VPN down again", "description": "Any news?"})
    page = await signed_in(browser, server, admin, f"/tickets/{second['id']}")

    async def accept(dialog: Dialog) -> None:
        assert "cannot be undone" in dialog.message
        await dialog.accept()

    page.on("dialog", accept)
    await expect(page.locator("#related-tickets option")).to_have_count(1)  # Rita's other open ticket, suggested
    await page.get_by_label("Merge into").fill(str(first["id"]))
    await page.get_by_role("button", name="Merge", exact=True).click()
    await expect(page.locator("#merged-banner")).to_contain_text(f"merged into #{first['id']}")
    await expect(page.locator("#merge-form")).to_have_count(0)  # a pointer takes no more changes
    await expect(page.locator("#comment-form")).to_have_count(0)
    await shoot(page, "ticket-merged-pointer")

    await page.locator("#merged-into-link").click()
    await page.wait_for_url(f"{server.url}/tickets/{first['id']}")
    await expect(page.locator("#conversation")).to_contain_text(f"Merged from #{second['id']} “VPN down again”")
    await expect(page.locator("#merged-banner")).to_have_count(0)
    await shoot(page, "ticket-merge-survivor")
