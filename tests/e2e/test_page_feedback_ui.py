"""What the pages say and show around a save: one readable error, "Saved" after every form, a delete that asks
first, files that can be taken back or sent alone, a bell that is an icon, and no 404 for the favicon."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import Browser, Dialog, Response, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser

TWO_FILES = """() => {
  const dt = new DataTransfer();
  dt.items.add(new File(["first"], "a.txt", { type: "text/plain" }));
  dt.items.add(new File(["second file"], "b.txt", { type: "text/plain" }));
  return dt;
}"""


async def test_a_rule_with_an_unknown_field_says_so_once_in_words(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    page = await signed_in(browser, server, admin, "/admin/rules")
    await page.get_by_label("Name").fill("typo")
    await page.get_by_role("tab", name="JSON").click()  # the builder is the first tab
    await page.get_by_label("Conditions (JSON)").fill(
        json.dumps({"any": [{"field": "subjekt", "op": "contains_word", "value": "x"}]})
    )
    await page.get_by_role("button", name="Create rule").click()
    flash = page.locator("#flash")
    await expect(flash).to_contain_text("Condition 1: unknown field 'subjekt'")
    text = await flash.inner_text()
    assert text.count("subjekt") == 1 and "body." not in text and "Value error" not in text, text
    await shoot(page, "rules-error")


async def test_saves_say_saved_and_deleting_a_calendar_asks_first(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    server.call("POST", "/api/categories", admin, json={"name": "Printers"})
    calendar = server.call(
        "POST",
        "/api/calendars",
        admin,
        json={"name": "Berlin office", "timezone": "UTC", "hours": {"mon": [["09:00", "17:00"]]}},
    )
    page = await signed_in(browser, server, admin, "/admin/categories")
    await page.get_by_label("Name", exact=True).fill("Printers and scanners")
    await page.get_by_role("button", name="Save").click()  # the page reloads, and still says so
    await expect(page.get_by_role("heading", name="Printers and scanners")).to_be_visible()
    await expect(page.locator("#flash")).to_have_text("Saved")

    await page.goto(server.url + "/admin/calendars")
    delete = page.get_by_role("button", name="Delete Berlin office")
    await expect(delete).to_have_class("danger")
    asked: list[str] = []

    async def decline(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.dismiss()

    page.once("dialog", decline)
    await delete.click()
    await expect(page.locator("#flash")).to_be_hidden()
    assert asked and "Berlin office" in asked[0] and "cannot be undone" in asked[0]
    assert [c["id"] for c in server.call("GET", "/api/calendars", admin)] == [calendar["id"]]
    await shoot(page, "calendars")

    page.once("dialog", lambda dialog: dialog.accept())
    await delete.click()
    await expect(page.locator("#flash")).to_have_text("Deleted Berlin office")
    await expect(page.locator("section.calendar")).to_have_count(0)
    assert server.call("GET", "/api/calendars", admin) == []


async def test_queued_files_can_be_removed_and_sent_without_text(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    requester = server.account(admin, "requester", "Rita Requester")
    ticket = server.call("POST", "/api/tickets", requester, json={"title": "Scanner is broken"})
    page = await signed_in(browser, server, requester, f"/tickets/{ticket['id']}")
    await expect(page.locator("#comment-form[data-files-ready]")).to_have_count(1)  # attachments.js is bound
    await page.get_by_role("button", name="Comment").click()  # nothing to send: said, nothing posted
    await expect(page.locator("#flash")).to_have_text("Write a comment or attach a file")

    dropped = await page.evaluate_handle(TWO_FILES)
    await page.locator("#drop-zone").dispatch_event("drop", {"dataTransfer": dropped})
    await expect(page.locator("#pending-files li")).to_have_count(2)
    await shoot(page, "ticket-queued-files")
    await page.get_by_role("button", name="Remove a.txt").click()
    await expect(page.locator("#pending-files li")).to_have_text(["b.txt (11 bytes)Remove"])
    await page.get_by_role("button", name="Comment").click()
    await expect(page.locator("ol.comments a", has_text="b.txt")).to_be_visible(timeout=10_000)
    await expect(page.locator("#flash")).to_have_text("Saved")
    [comment] = server.call("GET", f"/api/tickets/{ticket['id']}/comments", requester)
    assert comment["body"] == "Attached b.txt"
    assert [f["filename"] for f in comment["attachments"]] == ["b.txt"]


async def test_the_bell_is_an_icon_and_no_page_asks_for_a_missing_file(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    page = await signed_in(browser, server, admin, "/queue")
    missing: list[str] = []

    def note(response: Response) -> None:
        if response.status == 404:
            missing.append(response.url)

    page.on("response", note)
    await page.reload()
    await expect(page.locator("#bell svg")).to_have_count(1)
    assert "\U0001f514" not in await page.locator("#bell").inner_text()
    icon = await page.locator('link[rel="icon"]').get_attribute("href")
    assert icon is not None
    fetched = await page.request.get(server.url + icon)
    assert fetched.status == 200 and fetched.headers["content-type"].startswith("image/svg+xml")
    assert missing == []
    await shoot(page, "queue-bell")
