"""Search in Chromium: an agent types a word from a ticket's third comment in the header's search box, with
the keyboard only, and opens the ticket from the results."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser


async def test_an_agent_finds_a_ticket_by_a_word_of_its_third_comment(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    agent = server.account(admin, "agent", "Alan Agent")
    requester = server.account(admin, "requester", "Rita Requester")
    ticket = server.call("POST", "/api/tickets", requester, json={"title": "Laptop is slow", "description": "Hot"})
    other = server.call("POST", "/api/tickets", requester, json={"title": "Laptop bag torn", "description": "Strap"})
    for who, body in (
        (agent, "Did you restart it?"),
        (requester, "Yes, twice."),
        (agent, "The <b>thermal</b> paste dried"),
    ):
        server.call("POST", f"/api/tickets/{ticket['id']}/comments", who, json={"body": body})

    page = await signed_in(browser, server, agent, "/queue")
    await page.get_by_role("searchbox", name="Search tickets").focus()
    await page.keyboard.type("thermal")
    await page.keyboard.press("Enter")
    hits = page.locator(".search-hits li")
    await expect(hits).to_have_count(1)
    await expect(hits.first).to_contain_text("comment #3")
    await expect(hits.first.locator("mark")).to_have_text("thermal")
    await expect(page.locator(".search-hits")).not_to_contain_text(other["title"])
    await shoot(page, "search-results")
    await hits.first.get_by_role("link").focus()
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(f"{server.url}/tickets/{ticket['id']}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Laptop is slow")
