"""Organizations in Chromium: an admin creates one that shares tickets and adds two requesters on the admin page;
one of them sees the other's ticket in their list, marked with who opened it, and reads it; the agent's ticket page
names the organization."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser


async def test_a_requester_of_a_sharing_organization_sees_a_colleagues_ticket(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    pat = server.account(admin, "requester", "Pat Acme")
    sam = server.account(admin, "requester", "Sam Acme")
    agent = server.account(admin, "agent", "Bea Agent")

    page = await signed_in(browser, server, admin, "/admin/organizations")
    await page.get_by_label("Name", exact=True).fill("Acme")
    await page.get_by_label("Mail domains (comma-separated): a new requester from one joins it").fill("acme.test")
    await page.get_by_label("Members see each other's tickets").check()
    await page.get_by_role("button", name="Create").click()
    section = page.locator("section[data-organization-id]")
    await expect(section.get_by_role("heading", name="Acme")).to_be_visible()
    for person in (pat, sam):
        await section.get_by_label("Add a member").select_option(label=f"{person.name} <{person.email}>")
        await section.get_by_role("button", name="Add").click()
        await expect(section.locator(".members")).to_contain_text(person.name)
    await expect(section).to_contain_text("shares tickets")
    await shoot(page, "admin-organizations")

    ticket = server.call("POST", "/api/tickets", pat, json={"title": "Invoices missing", "description": "Q3"})
    mine = server.call("POST", "/api/tickets", sam, json={"title": "My own laptop", "description": "slow"})
    sams = await signed_in(browser, server, sam, "/tickets")
    shared = sams.locator(f'tr[data-ticket-id="{ticket["id"]}"]')
    await expect(shared.locator(".shared-by")).to_have_text("opened by Pat Acme")
    await expect(sams.locator(f'tr[data-ticket-id="{mine["id"]}"] .shared-by')).to_have_count(0)
    await shoot(sams, "my-tickets-shared")
    await shared.get_by_role("link", name="Invoices missing").click()
    await expect(sams.get_by_role("heading", name="Invoices missing")).to_be_visible()

    bea = await signed_in(browser, server, agent, f"/tickets/{ticket['id']}")
    await expect(bea.locator('[data-field="organization"]')).to_have_text("Acme")
    await shoot(bea, "ticket-organization")
