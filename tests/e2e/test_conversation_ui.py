"""The ticket page as a conversation in Chromium (issue 24): comments and folded change lines in one thread with
the event log a click away, a Markdown preview, the title edited in place, and who the requester is."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser


async def test_the_thread_shows_comments_and_changes_and_previews_markdown(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    agent = server.account(admin, "agent", "Alan Agent")
    requester = server.account(admin, "requester", "Rita Requester")
    ticket = server.call("POST", "/api/tickets", requester, json={"title": "Core switch is down", "description": "3F"})
    tid = ticket["id"]
    server.call("POST", f"/api/tickets/{tid}/comments", agent, json={"body": "Which **port**?\n\n- uplink\n- access"})
    page = await signed_in(browser, server, agent, f"/tickets/{tid}")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    thread = page.locator("ol.thread")
    await expect(thread.locator("li.comment strong", has_text="port")).to_be_visible()
    await expect(thread.locator("li.comment li", has_text="uplink")).to_be_visible()
    await expect(thread.locator("li.change", has_text="set priority to critical")).to_contain_text("Rule")

    await page.locator("#priority").select_option("high")
    await page.get_by_role("button", name="Set priority").click()
    await expect(thread.locator("li.change", has_text="Alan Agent set priority to high")).to_be_visible()
    await page.evaluate("window.loadedOnce = true")  # gone if the page reloads
    server.call(
        "POST", f"/api/tickets/{tid}/comments", admin, json={"body": "Uplink checked: [ok](https://status.example.com)"}
    )
    await expect(thread.get_by_role("link", name="ok")).to_have_attribute("href", "https://status.example.com")
    assert await page.evaluate("window.loadedOnce") is True  # a colleague's comment arrived live

    reply = page.get_by_label("Add a comment")
    await reply.fill("See [the runbook](https://wiki.example.com/switch):\n\n1. power\n2. uplink")
    await page.get_by_role("button", name="Preview").click()
    preview = page.locator("#comment-preview")
    await expect(preview.get_by_role("link", name="the runbook")).to_have_attribute(
        "href", "https://wiki.example.com/switch"
    )
    await expect(preview.locator("ol li")).to_have_text(["power", "uplink"])
    await expect(reply).to_be_hidden()
    await shoot(page, "ticket-conversation-agent")
    await page.get_by_role("button", name="Write").click()
    await expect(reply).to_be_visible()
    await expect(reply).to_have_value("See [the runbook](https://wiki.example.com/switch):\n\n1. power\n2. uplink")

    await page.get_by_role("link", name="Event log").click()
    await expect(page).to_have_url(f"{server.url}/tickets/{tid}#timeline-h")
    await expect(page.locator(".timeline")).to_contain_text("ticket.priority_changed")

    mine = await signed_in(browser, server, requester, f"/tickets/{tid}")
    await expect(mine.locator("ol.thread li.comment", has_text="Which port")).to_be_visible()
    await expect(mine.locator("ol.thread li.change", has_text="Rule")).to_have_count(0)
    await expect(mine.locator("ol.thread li.change", has_text="priority")).to_have_count(0)
    await shoot(mine, "ticket-conversation-requester")


async def test_an_agent_renames_the_ticket_in_place_beside_the_requesters_other_tickets(
    server: Server, browser: Browser
) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    agent = server.account(admin, "agent", "Alan Agent")
    requester = server.account(admin, "requester", "Rita Requester")
    earlier = server.call("POST", "/api/tickets", requester, json={"title": "Badge does not open door 4"})
    ticket = server.call("POST", "/api/tickets", requester, json={"title": "mouse"})
    tid = ticket["id"]
    page = await signed_in(browser, server, agent, f"/tickets/{tid}")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    context = page.locator("#requester-context")
    await expect(context).to_contain_text("rita.requester@example.com")
    await expect(context.get_by_role("link", name=f"#{earlier['id']} Badge does not open door 4")).to_have_attribute(
        "href", f"/tickets/{earlier['id']}"
    )
    await page.evaluate("window.loadedOnce = true")  # gone if the page reloads

    await page.get_by_label("Title").fill("Mouse double-clicks on its own")
    await page.get_by_role("button", name="Rename").click()
    await expect(page.locator("#ticket-title")).to_have_text("Mouse double-clicks on its own")
    await expect(page.locator("ol.thread li.change", has_text="changed the title")).to_contain_text(
        "Alan Agent changed the title to “Mouse double-clicks on its own”"
    )
    empty = page.get_by_label("Title")
    await empty.fill(" ")
    await page.get_by_role("button", name="Rename").click()
    await expect(page.locator("#edit-title:invalid")).to_have_count(1)  # the browser says why; nothing is sent
    await expect(page.locator("#ticket-title")).to_have_text("Mouse double-clicks on its own")
    await page.get_by_label("CC (watchers)").select_option(label="Ada Admin (ada.admin@example.com)")
    await page.get_by_role("button", name="Add to CC").click()
    await expect(page.locator("#watcher-names")).to_have_text("Ada Admin")
    await shoot(page, "ticket-edit-agent")
    await page.get_by_role("button", name="Remove Ada Admin from CC").click()
    await expect(page.locator("#watcher-names")).to_have_text("nobody")
    assert await page.evaluate("window.loadedOnce") is True
