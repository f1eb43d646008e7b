"""One submit in Chromium, as a new agent would try it: write the reply, pick a priority in the actions box and
press "Send as Resolved". One request: the page shows the reply, the priority and "resolved" without a reload, and
the ticket's events share one correlation id. Ctrl+Enter sends a plain reply; requesters keep their simple box."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser


async def test_an_agent_replies_and_resolves_in_one_submit(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    agent = server.account(admin, "agent", "Alan Agent")
    requester = server.account(admin, "requester", "Rita Requester")
    ticket = server.call("POST", "/api/tickets", requester, json={"title": "Wi-Fi drops", "description": "room 2"})
    server.call("POST", f"/api/tickets/{ticket['id']}/transition", agent, json={"status": "open"})
    page = await signed_in(browser, server, agent, f"/tickets/{ticket['id']}")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    await expect(page.locator("#comment-form[data-split-ready]")).to_have_count(1)
    await page.evaluate("window.loadedOnce = true")  # gone if the page reloads
    split = page.locator("#send-as button")
    await expect(split).to_have_text(["Send as Pending", "Send as Resolved"])

    reply = page.get_by_label("Add a comment")
    await reply.fill("Looking at the access point")
    await reply.press("Control+Enter")  # the keyboard's way: a plain "Send"
    await expect(page.locator(".comments")).to_contain_text("Looking at the access point")
    await expect(reply).to_have_value("")
    await expect(page.locator('[data-field="status"]')).to_have_text("open")

    await page.locator("#priority").select_option("high")  # chosen in the actions box, not saved on its own
    await reply.fill("Replaced the access point; it holds now.")
    await shoot(page, "ticket-split-send")
    await page.get_by_role("button", name="Send as Resolved").click()
    await expect(page.locator('[data-field="status"]')).to_have_text("resolved")
    await expect(page.locator('[data-field="priority"]')).to_have_text("high")
    await expect(page.locator(".comments")).to_contain_text("Replaced the access point; it holds now.")
    await expect(page.locator('#flash[data-kind="error"]:not([hidden])')).to_have_count(0)
    await expect(split).to_have_count(0)  # from resolved, the actions box offers neither pending nor resolved
    assert await page.evaluate("window.loadedOnce") is True

    events = server.call("GET", f"/api/tickets/{ticket['id']}/events", agent)
    [commented] = [e for e in events if e["type"] == "ticket.commented" and "Replaced" in e["data"]["body"]]
    together = [e for e in events if e["metadata"]["correlation_id"] == commented["metadata"]["correlation_id"]]
    assert {"ticket.commented", "ticket.priority_changed", "ticket.status_changed", "ticket.resolved"} <= {
        e["type"] for e in together
    }


async def test_a_requester_keeps_the_simple_reply_box(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    requester = server.account(admin, "requester", "Rita Requester")
    ticket = server.call("POST", "/api/tickets", requester, json={"title": "Printer offline", "description": "2F"})
    page = await signed_in(browser, server, requester, f"/tickets/{ticket['id']}")
    await expect(page.get_by_role("button", name="Comment", exact=True)).to_be_visible()
    await expect(page.locator("#send-as, .split-send")).to_have_count(0)


async def test_files_go_with_a_send_as_resolved_on_a_new_ticket(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    agent = server.account(admin, "agent", "Alan Agent")
    requester = server.account(admin, "requester", "Rita Requester")
    ticket = server.call("POST", "/api/tickets", requester, json={"title": "Need the VPN guide", "description": "-"})
    page = await signed_in(browser, server, agent, f"/tickets/{ticket['id']}")
    await expect(page.locator("#comment-form[data-split-ready]")).to_have_count(1)
    await page.evaluate("window.loadedOnce = true")
    await expect(page.locator("#send-as button")).to_have_text(["Send as Resolved"])  # new: no pending yet
    guide = {"name": "vpn-guide.txt", "mimeType": "text/plain", "buffer": b"1. Open the client"}
    await page.locator("#comment-files").set_input_files(guide)
    await expect(page.locator("#pending-files")).to_contain_text("vpn-guide.txt")
    await page.get_by_role("button", name="Send as Resolved").click()
    await expect(page.locator('[data-field="status"]')).to_have_text("resolved")
    await expect(page.locator("ol.comments a", has_text="vpn-guide.txt")).to_be_visible(timeout=10_000)
    await expect(page.locator("#pending-files li")).to_have_count(0)
    assert await page.evaluate("window.loadedOnce") is True
    [comment] = server.call("GET", f"/api/tickets/{ticket['id']}/comments", agent)
    assert comment["body"] == "Attached vpn-guide.txt" and [f["filename"] for f in comment["attachments"]] == [
        "vpn-guide.txt"
    ]
