"""Bulk actions in the queue: an agent selects three tickets with a click and a shift-click, sets their status,
and the rows change as the changes commit; the saved views beside the filters count them."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser


async def test_shift_click_selects_a_range_and_a_bulk_status_changes_the_rows(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    requester = server.account(admin, "requester", "Rita Requester")
    made = [server.call("POST", "/api/tickets", requester, json={"title": f"Laptop {i}"}) for i in range(5)]
    server.call("POST", "/api/views", admin, json={"name": "Pending", "filters": {"status": "pending"}})
    queue = await signed_in(browser, server, admin, "/queue?status=all")
    await expect(queue.locator("#live-status")).to_have_attribute("data-state", "live")
    pending_count = queue.locator("#views-list .view-count")
    await expect(pending_count).to_have_text(["0"])

    newest_first = [t["id"] for t in reversed(made)]
    rows = [queue.locator(f'tr[data-ticket-id="{i}"]') for i in newest_first]
    await rows[1].locator("input.pick").click()
    await rows[3].locator("input.pick").click(modifiers=["Shift"])
    await expect(queue.locator("#bulk-count")).to_have_text("3 selected")
    for row, ticked in zip(rows, (False, True, True, True, False), strict=True):
        await expect(row.locator("input.pick")).to_be_checked(checked=ticked)

    await queue.locator("#b-status").select_option("open")
    await queue.locator("#b-priority").select_option("high")
    await shoot(queue, "queue-bulk-selected")
    await queue.get_by_role("button", name="Apply to selected").click()
    await expect(queue.locator("#bulk-done")).to_have_text("3 of 3")
    for row, status in zip(rows, ("new", "open", "open", "open", "new"), strict=True):
        await expect(row.locator('[data-field="status"]')).to_contain_text(status)
    await expect(queue.locator("#bulk-failures")).to_be_hidden()
    await expect(rows[2].locator("input.pick")).to_be_checked()  # the live refresh keeps the selection

    # A second change: one of them is moved to pending meanwhile by another path; the count beside the view follows.
    server.call("POST", f"/api/tickets/{newest_first[2]}/transition", admin, json={"status": "pending"})
    await expect(pending_count).to_have_text(["1"])
    await shoot(queue, "queue-bulk-applied")
