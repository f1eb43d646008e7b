"""Presence and collision in Chromium, as two new agents would meet them: both open one ticket and each sees the
other viewing, then typing; one sends first, and the other's "Send" shows that reply and asks before sending
anyway. Closing a tab ends its presence on the other's page."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser


async def test_two_agents_see_each_other_typing_and_the_later_reply_asks_first(
    server: Server, browser: Browser
) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    ann = server.account(admin, "agent", "Ann Agent")
    bob = server.account(admin, "agent", "Bob Agent")
    requester = server.account(admin, "requester", "Rita Requester")
    ticket = server.call("POST", "/api/tickets", requester, json={"title": "VPN drops", "description": "every hour"})
    path = f"/tickets/{ticket['id']}"
    ann_page = await signed_in(browser, server, ann, path)
    bob_page = await signed_in(browser, server, bob, path)
    for page in (ann_page, bob_page):
        await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
        await expect(page.locator("#comment-form[data-split-ready]")).to_have_count(1)

    ann_sees, bob_sees = ann_page.locator("#presence"), bob_page.locator("#presence")
    await expect(ann_sees.locator(f'[data-user-id="{bob.id}"]')).to_contain_text("Bob Agent viewing")
    await expect(bob_sees.locator(f'[data-user-id="{ann.id}"]')).to_contain_text("Ann Agent viewing")

    await bob_page.get_by_label("Add a comment").fill("Please update the VPN client to 5.2.")
    await expect(ann_sees.locator(f'[data-user-id="{bob.id}"][data-typing="true"]')).to_contain_text("is typing")
    ann_reply = ann_page.get_by_label("Add a comment")
    await ann_reply.fill("Could you send the client's log?")
    await expect(bob_sees.locator(f'[data-user-id="{ann.id}"][data-typing="true"]')).to_contain_text("is typing")
    await expect(bob_page.locator("#typing-note")).to_have_text("Ann Agent is typing a reply too…")
    await shoot(ann_page, "ticket-presence")

    await bob_page.get_by_role("button", name="Send comment").click()  # Bob sends first
    await expect(bob_page.locator(".comments")).to_contain_text("Please update the VPN client to 5.2.")
    await ann_page.get_by_role("button", name="Send comment").click()
    prompt = ann_page.get_by_role("alertdialog")
    await expect(prompt).to_contain_text("Bob Agent")
    await expect(prompt).to_contain_text("Please update the VPN client to 5.2.")
    anyway = prompt.get_by_role("button", name="Send anyway")
    await expect(anyway).to_be_enabled()  # once the page shows Bob's reply
    await expect(ann_page.locator(".comment.arrived")).to_contain_text("Please update the VPN client to 5.2.")
    await expect(ann_reply).to_have_value("Could you send the client's log?")  # nothing sent, nothing lost
    assert [c["author_id"] for c in server.call("GET", f"/api/tickets/{ticket['id']}/comments", ann)] == [bob.id]
    await shoot(ann_page, "ticket-collision")
    await anyway.click()
    await expect(ann_page.locator(".comments")).to_contain_text("Could you send the client's log?")
    await expect(prompt).to_have_count(0)
    await expect(ann_page.locator('#flash[data-kind="error"]:not([hidden])')).to_have_count(0)

    await bob_page.context.close()  # Bob closes his tab: his presence ends on Ann's page
    await expect(ann_sees).to_be_hidden()
