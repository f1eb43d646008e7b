"""The knowledge base in Chromium: a requester typing a ticket's title is shown the article that answers it and
stops there; an agent links an article into a reply and turns a resolved ticket into a draft."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser

VPN = {
    "title": "VPN keeps disconnecting",
    "body": "Switch the VPN client to the **TCP** profile; the UDP one drops on hotel networks.",
    "status": "published",
    "visibility": "requesters",
}


async def test_a_requester_sees_the_vpn_article_while_typing_and_stops_there(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    agent = server.account(admin, "agent", "Alan Agent")
    requester = server.account(admin, "requester", "Rita Requester")
    vpn = server.call("POST", "/api/kb/articles", agent, json=VPN)
    server.call("POST", "/api/kb/articles", agent, json={**VPN, "title": "VPN draft secret", "status": "draft"})
    server.call(
        "POST", "/api/kb/articles", agent, json={**VPN, "title": "VPN internal runbook", "visibility": "internal"}
    )

    page = await signed_in(browser, server, requester, "/tickets/new")
    await page.get_by_label("Title").press_sequentially("vpn keeps disconnecting", delay=30)
    suggestions = page.locator("#kb-suggestion-list li")
    await expect(suggestions.first).to_contain_text("VPN keeps disconnecting", timeout=10_000)
    await expect(page.locator("#kb-suggestions")).not_to_contain_text("secret")
    await expect(page.locator("#kb-suggestions")).not_to_contain_text("runbook")
    await expect(suggestions.first.locator("mark").first).to_be_visible()
    await suggestions.first.get_by_role("button", name="VPN keeps disconnecting").click()
    await expect(page.locator("#kb-reading-body strong")).to_have_text("TCP")
    await shoot(page, "kb-suggestions")
    await page.get_by_role("button", name="This solved my problem").click()
    await expect(page.get_by_role("status").filter(has_text="No ticket was opened")).to_be_visible()
    await expect(page.locator("#new-ticket")).to_be_hidden()

    assert server.call("GET", "/api/tickets", requester)["items"] == []
    [deflected] = server.call("GET", "/api/events?type=kb.ticket_deflected", admin)["items"]
    assert deflected["data"]["article_id"] == vpn["id"] and deflected["data"]["user_id"] == requester.id
    suggested = server.call("GET", "/api/events?type=kb.article_suggested", admin)["items"]
    assert suggested and {e["data"]["article_id"] for e in suggested} == {vpn["id"]}
    stats = server.call("GET", "/api/kb/stats", admin)["items"]
    row = next(r for r in stats if r["article_id"] == vpn["id"])
    assert row["deflected"] == 1 and row["tickets_after"] == 0 and row["viewed"] == 1


async def test_an_agent_links_an_article_in_a_reply_and_drafts_one_from_the_ticket(
    server: Server, browser: Browser
) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    agent = server.account(admin, "agent", "Alan Agent")
    requester = server.account(admin, "requester", "Rita Requester")
    vpn = server.call("POST", "/api/kb/articles", agent, json=VPN)
    ticket = server.call(
        "POST", "/api/tickets", requester, json={"title": "My VPN disconnects", "description": "at home"}
    )

    page = await signed_in(browser, server, agent, f"/tickets/{ticket['id']}")
    panel = page.locator("#kb-panel")
    await expect(panel).to_contain_text("VPN keeps disconnecting")
    await panel.get_by_role("button", name="Insert link into reply").click()
    await expect(page.get_by_label("Add a comment")).to_have_value(
        f"VPN keeps disconnecting: {server.url}/kb/{vpn['id']}"
    )
    await page.get_by_role("button", name="Comment").click()
    await expect(page.locator("ol.comments")).to_contain_text(f"/kb/{vpn['id']}")
    server.call("POST", f"/api/tickets/{ticket['id']}/transition", agent, json={"status": "resolved"})
    await page.reload()
    await page.get_by_role("button", name="Turn into a draft article").click()
    await page.wait_for_url(f"{server.url}/kb/*")
    await expect(page.get_by_label("Title")).to_have_value("My VPN disconnects")
    await expect(page.locator(".article-body")).to_contain_text("at home")
    await expect(page.locator(".article-body")).to_contain_text(f"/kb/{vpn['id']}")
    await shoot(page, "kb-article-draft")
