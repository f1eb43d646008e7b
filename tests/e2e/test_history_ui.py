"""The past in the browser: a ticket's page as of a timeline event, and a rule simulated from the rules page."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser


async def test_the_timeline_shows_the_ticket_as_it_stood_after_an_event(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    requester = server.account(admin, "requester", "Rita Requester")
    ticket = server.call("POST", "/api/tickets", requester, json={"title": "Scanner is down", "description": "lab"})
    events = server.call("GET", f"/api/tickets/{ticket['id']}/events", admin)
    created = events[0]
    assert created["type"] == "ticket.created"

    page = await signed_in(browser, server, admin, f"/tickets/{ticket['id']}")
    await expect(page.locator('[data-field="priority"]')).to_have_text("critical")  # the outage rule made it so
    entry = page.locator(f'li[data-event-id="{created["event_id"]}"]')
    await entry.get_by_role("link", name="view as of this event").click()
    await page.wait_for_url(f"**/tickets/{ticket['id']}?as_of={created['event_id']}")
    banner = page.locator("#as-of-banner")
    await expect(banner).to_contain_text("ticket.created")
    await expect(banner).to_contain_text("version 1")
    await expect(page.locator('[data-field="priority"]')).to_have_text("normal")  # before the rule changed it
    await expect(page.get_by_role("heading", name="Actions")).to_have_count(0)  # the past is read-only
    await expect(page.locator(f'li[data-event-id="{created["event_id"]}"]')).to_have_class(re.compile("as-of-point"))
    await shoot(page, "ticket-as-of")
    await banner.get_by_role("link", name="Back to now").click()
    await expect(page.locator('[data-field="priority"]')).to_have_text("critical")


async def test_the_rules_page_simulates_the_rule_in_its_form(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    requester = server.account(admin, "requester", "Rita Requester")
    ids = [
        server.call("POST", "/api/tickets", requester, json={"title": title, "description": ""})["id"]
        for title in ("Printer out of toner", "Mail is slow", "Toner smudges")
    ]
    page = await signed_in(browser, server, admin, "/admin/rules")
    await page.get_by_label("Name").fill("toner is low")
    await page.get_by_role("tab", name="JSON").click()  # the builder is the first tab
    await page.get_by_label("Conditions (JSON)").fill(
        '{"any": [{"field": "text", "op": "contains_word", "value": "toner"}]}'
    )
    await page.get_by_label("Actions (JSON)").fill('[{"type": "set_priority", "value": "low"}]')
    await page.get_by_role("button", name="Simulate").click()
    summary = page.locator("#simulation-summary")
    await expect(summary).to_contain_text("Would have acted on 2 of 3 tickets evaluated")
    await expect(summary).to_contain_text("set_priority: 2")
    rows = page.locator("#simulation-sample tbody tr")
    await expect(rows).to_have_count(2)
    await expect(page.locator(f'#simulation-sample tr[data-ticket-id="{ids[0]}"]')).to_contain_text("set_priority low")
    await expect(page.locator(f'#simulation-sample tr[data-ticket-id="{ids[1]}"]')).to_have_count(0)
    await shoot(page, "rule-simulation")
    assert all(r["name"] != "toner is low" for r in server.call("GET", "/api/rules", admin))  # nothing saved
