"""Files dropped on a ticket's comment form in Chromium are uploaded with the comment."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser

DROP_A_PDF = """() => {
  const dt = new DataTransfer();
  const bytes = new TextEncoder().encode("%PDF-1.4\\n1 0 obj << /Type /Catalog >> endobj\\n%%EOF\\n");
  dt.items.add(new File([bytes], "scan.pdf", { type: "text/plain" }));
  return dt;
}"""


async def test_files_dropped_on_the_comment_form_are_attached(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    requester = server.account(admin, "requester", "Rita Requester")
    ticket = server.call("POST", "/api/tickets", requester, json={"title": "Scanner is broken"})
    page = await signed_in(browser, server, requester, f"/tickets/{ticket['id']}")
    await expect(page.locator("#comment-form[data-files-ready]")).to_have_count(1)  # attachments.js is bound
    dropped = await page.evaluate_handle(DROP_A_PDF)
    await page.locator("#drop-zone").dispatch_event("drop", {"dataTransfer": dropped})
    await expect(page.locator("#pending-files")).to_contain_text("scan.pdf")
    await page.get_by_label("Add a comment").fill("Here is the scan")
    await page.get_by_role("button", name="Comment").click()
    await expect(page.locator("ol.comments a", has_text="scan.pdf")).to_be_visible(timeout=10_000)
    await shoot(page, "attachments")
    [comment] = server.call("GET", f"/api/tickets/{ticket['id']}/comments", requester)
    assert comment["body"] == "Here is the scan" and comment["source"] == "web"
    [file] = comment["attachments"]
    assert file["filename"] == "scan.pdf" and file["content_type"] == "application/pdf"
