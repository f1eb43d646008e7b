"""Issue 25's walk-through, as a new agent would do it in Chromium: open the queue, pick a saved view, select all
30 tickets it shows, bulk-apply a macro that tags, assigns and replies with each requester's name, and watch the
rows and a colleague's open ticket page change live. (Finding a ticket by a word of its third comment is
tests/e2e/test_search_ui.py; the admin's required field and an organization that shares tickets, seen by a
requester, are tests/e2e/test_fields_ui.py and test_organizations_ui.py.)"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser

REPLY = "Hello {{ requester.name }}, the VPN gateway is being replaced tonight; we will tell you when it is back."


async def test_saved_view_select_30_and_bulk_apply_a_macro(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    agent = server.account(admin, "agent", "Alan Agent")
    colleague = server.account(admin, "agent", "Cora Colleague")
    ann = server.account(admin, "requester", "Ann Archer")
    bob = server.account(admin, "requester", "Bob Baker")
    vpn = [
        server.call("POST", "/api/tickets", ann if i % 2 else bob, json={"title": f"VPN drops {i}"}) for i in range(30)
    ]
    printer = server.call("POST", "/api/tickets", ann, json={"title": "Printer jam"})
    server.call("POST", "/api/views", admin, json={"name": "VPN trouble", "scope": "everyone", "filters": {"q": "VPN"}})
    macro = {
        "name": "VPN outage",
        "scope": "everyone",
        "body": REPLY,
        "actions": {"add_tags": ["vpn-outage"], "assignee_id": agent.id, "status": "pending"},
    }
    server.call("POST", "/api/macros", admin, json=macro)

    watched = vpn[7]  # Ann's: her name must be in its reply
    other = await signed_in(browser, server, colleague, f"/tickets/{watched['id']}")
    await expect(other.locator("#live-status")).to_have_attribute("data-state", "live")

    queue = await signed_in(browser, server, agent, "/queue")
    await expect(queue.locator("#live-status")).to_have_attribute("data-state", "live")
    view = queue.locator("#views-list li", has_text="VPN trouble")
    await expect(view.locator(".view-count")).to_have_text("30")
    await view.get_by_role("link", name="VPN trouble").click()
    rows = queue.locator("#queue-table tbody tr[data-ticket-id]")
    await expect(rows).to_have_count(30)
    await expect(queue.locator(f'tr[data-ticket-id="{printer["id"]}"]')).to_have_count(0)
    await expect(queue.locator("#live-status")).to_have_attribute("data-state", "live")

    await queue.get_by_role("button", name="Select all 30 matching").click()
    await expect(queue.locator("#bulk-count")).to_have_text("30 selected")
    await queue.locator("#b-macro").select_option(label="VPN outage")
    await shoot(queue, "walkthrough-bulk-macro")
    await queue.get_by_role("button", name="Apply to selected").click()
    await expect(queue.locator("#bulk-done")).to_have_text("30 of 30")
    await expect(queue.locator("#bulk-failures")).to_be_hidden()

    # Each row follows as its change commits (the live refresh), without a reload.
    await expect(rows.locator('[data-field="status"]')).to_contain_text(["pending"] * 30)
    await expect(rows.locator('[data-field="assignee"]')).to_contain_text(["Alan Agent"] * 30)
    await expect(rows.locator('[data-field="tags"]')).to_contain_text(["vpn-outage"] * 30)
    await shoot(queue, "walkthrough-bulk-applied")

    # The colleague's open ticket page shows the reply with Ann's name, the tag and the status, live.
    await expect(other.locator(".comment .body")).to_contain_text(["Hello Ann Archer, the VPN gateway"])
    await expect(other.locator('[data-field="status"]')).to_contain_text("pending")
    await expect(other.locator("#ticket-tags .tag-name")).to_have_text(["vpn-outage"])
    bobs = server.call("GET", f"/api/tickets/{vpn[0]['id']}/comments", agent)
    assert [c["body"] for c in bobs] == [REPLY.replace("{{ requester.name }}", "Bob Baker")]
