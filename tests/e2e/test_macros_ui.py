"""Replies and macros in Chromium: the management page refuses a bad template or field value with a clear error
and saves a macro's custom fields; in the reply
box, "/" and a few letters find a reply (inserted, the requester's name filled in) and a macro (previewed, applied
on confirm), all by keyboard, and a colleague's page shows the macro's changes live."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser


async def test_the_page_refuses_a_bad_template_then_saves_the_good_one(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    plan = {"key": "plan", "label": "Plan", "type": "select", "options": ["basic", "pro"]}
    server.call("POST", "/api/fields", admin, json=plan)
    page = await signed_in(browser, server, admin, "/macros")
    await expect(page.locator("#macro-form")).to_have_attribute("data-ready", "true")
    await page.get_by_label("Name").fill("Greeting")
    await page.get_by_label("Who may use it").select_option("everyone")
    await page.get_by_label("Text", exact=True).fill("Hello {{ requester.password_hash }}")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#m-error")).to_contain_text("'requester.password_hash' is not a variable you may use")
    await expect(page.locator("#macro-list tbody")).to_contain_text("No replies or macros yet.")
    await page.get_by_label("Text", exact=True).fill("Hello {{ requester.name }},\n\nthanks for writing.")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#macro-list tbody tr")).to_have_count(1)
    await expect(page.locator("#macro-list tbody td.name")).to_have_text("Greeting")
    await page.get_by_label("Kind").select_option("macros")
    await page.get_by_label("Name").fill("Waiting on you")
    await page.get_by_label("Status").select_option("pending")
    await page.get_by_label("Add tags").fill("waiting")
    await page.get_by_label("Custom fields").fill("plan=gold")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#m-error")).to_contain_text("plan")  # refused when saved, naming the field
    await page.get_by_label("Custom fields").fill("plan=pro")
    await shoot(page, "macros-page")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#macro-list tbody tr")).to_have_count(2)
    await expect(page.locator("#macro-list tbody")).to_contain_text("fields: plan=pro")


async def test_slash_inserts_a_reply_and_applies_a_macro_by_keyboard(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    bea = server.account(admin, "agent", "Bea Agent")
    requester = server.account(admin, "requester", "Rita Requester")
    ticket = server.call("POST", "/api/tickets", requester, json={"title": "VPN drops", "description": "floor 3"})
    reply = {"name": "Greeting", "scope": "everyone", "body": "Hello {{ requester.name }},"}
    server.call("POST", "/api/replies", admin, json=reply)
    actions = {"status": "pending", "priority": "high", "add_tags": ["vpn"]}
    macro = {"name": "VPN: ask for logs", "scope": "everyone", "body": "Please send the VPN log.", "actions": actions}
    server.call("POST", "/api/macros", admin, json=macro)
    path = f"/tickets/{ticket['id']}"
    page = await signed_in(browser, server, bea, path)
    colleague = await signed_in(browser, server, admin, path)
    await expect(colleague.locator("#live-status")).to_have_attribute("data-state", "live")
    await expect(page.locator("#comment-body")).to_have_attribute("data-picker-ready", "true")

    box = page.locator("#comment-body")
    await box.focus()
    await page.keyboard.type("/gre")
    await expect(page.locator("#reply-picker [aria-selected=true]")).to_have_text("reply Greeting")
    await page.keyboard.press("Enter")
    await expect(box).to_have_value("Hello Rita Requester,")
    await expect(page.locator("#reply-picker")).to_be_hidden()

    await page.keyboard.press("Control+A")
    await page.keyboard.type("/v")
    await expect(page.locator("#reply-picker [role=option]")).to_have_text(["macro VPN: ask for logs"])
    await page.keyboard.press("Escape")
    await expect(page.locator("#reply-picker")).to_be_hidden()
    await page.keyboard.type("p")
    await expect(page.locator("#reply-picker [aria-selected=true]")).to_be_visible()
    await page.keyboard.press("Enter")
    preview = page.locator("#macro-preview")
    await expect(preview).to_contain_text("Please send the VPN log.")
    await expect(preview.locator(".macro-changes li")).to_have_text(
        ["priority: normal → high", "status: new → pending", "add tags: vpn"]
    )
    await expect(box).to_have_value("")  # the "/vp" is gone from the reply
    await shoot(page, "ticket-macro-preview")
    await expect(page.get_by_role("button", name="Apply macro")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#macro-preview")).to_be_hidden()
    for seen in (page, colleague):  # the colleague's page follows live, without a reload
        await expect(seen.locator('[data-field="status"]')).to_contain_text("pending")
        await expect(seen.locator("#ticket-tags .tag-name")).to_have_text(["vpn"])
        await expect(seen.locator(".comment .body")).to_contain_text(["Please send the VPN log."])
