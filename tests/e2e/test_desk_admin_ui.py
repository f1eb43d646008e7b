"""The queue, the workload page and user admin in Chromium: sorting by a column, unread markers that come and
go, deactivating with its consequences shown first, importing users from CSV with a preview."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser


async def test_the_queue_sorts_by_a_column_and_marks_what_changed(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    agent = server.account(admin, "agent", "Alan Agent")
    requester = server.account(admin, "requester", "Rita Requester")
    made = {
        priority: server.call(
            "POST", "/api/tickets", requester, json={"title": f"{priority} thing", "priority": priority}
        )["id"]
        for priority in ("low", "critical", "normal", "high")
    }
    page = await signed_in(browser, server, agent, "/queue")
    titles = page.locator("#queue-table tbody tr td[data-label='Title'] a")
    await expect(titles).to_have_text(["high thing", "normal thing", "critical thing", "low thing"])  # newest first

    header = page.locator("#queue-table th", has_text="Priority")
    await header.get_by_role("link").focus()
    await page.keyboard.press("Enter")  # a header is a link: the keyboard sorts as a click does
    await expect(header).to_have_attribute("aria-sort", "ascending")
    await expect(titles).to_have_text(["critical thing", "high thing", "normal thing", "low thing"])
    await header.get_by_role("link").click()
    await expect(header).to_have_attribute("aria-sort", "descending")
    await expect(titles).to_have_text(["low thing", "normal thing", "high thing", "critical thing"])
    await page.reload()  # the order is in the address: it survives a reload, and the filters keep it
    await expect(titles).to_have_text(["low thing", "normal thing", "high thing", "critical thing"])
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator("#queue-table th", has_text="Priority")).to_have_attribute("aria-sort", "descending")

    critical = page.locator(f'tr[data-ticket-id="{made["critical"]}"]')
    await expect(critical.locator(".unread")).to_have_text("new")
    await critical.get_by_role("link", name="critical thing").click()
    await page.wait_for_url(f"{server.url}/tickets/{made['critical']}")
    await page.go_back()
    await page.reload()  # the look is recorded once the ticket page was sent
    critical = page.locator(f'tr[data-ticket-id="{made["critical"]}"]')
    await expect(critical.locator(".unread")).to_have_count(0)
    await expect(page.locator(f'tr[data-ticket-id="{made["low"]}"] .unread')).to_have_text("new")
    server.call("POST", f"/api/tickets/{made['critical']}/comments", requester, json={"body": "still down"})
    await expect(critical.locator(".unread")).to_have_text("updated")  # live, no reload
    await shoot(page, "queue-sorted-unread")

    await page.get_by_role("link", name="Workload", exact=True).click()
    await page.wait_for_url(f"{server.url}/reports/workload")
    await expect(page.locator('#workload-table tr[data-assignee="none"] td[data-field="total"]')).to_have_text("4")
    await shoot(page, "workload")
    await page.locator('#workload-table tr[data-assignee="none"] td[data-field="critical"] a').click()
    await expect(page.locator("#queue-table tbody tr")).to_have_count(1)


async def test_an_admin_edits_deactivates_after_the_preview_and_imports_csv(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    leaver = server.account(admin, "agent", "Lee Leaver")
    requester = server.account(admin, "requester", "Rita Requester")
    ticket = server.call("POST", "/api/tickets", requester, json={"title": "Printer jams"})
    server.call(
        "PATCH", f"/api/tickets/{ticket['id']}", admin, json={"version": ticket["version"], "assignee_id": leaver.id}
    )

    page = await signed_in(browser, server, admin, "/admin/users")
    row = page.locator(f'tr[data-user-id="{leaver.id}"]')
    await row.get_by_text("Edit Lee Leaver").click()
    await row.get_by_label("Name").fill("Lee Left")
    await row.get_by_role("button", name="Save Lee Leaver").click()
    row = page.locator(f'tr[data-user-id="{leaver.id}"]')
    await expect(row.locator('td[data-label="Name"]')).to_have_text("Lee Left")
    await expect(page.locator("#flash")).to_have_text("Saved Lee Leaver")

    await page.get_by_label("Name or email").fill("lee")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("#users-table tbody tr")).to_have_count(1)

    await row.get_by_role("button", name="Deactivate Lee Left…").click()
    dialog = page.get_by_role("dialog", name="Deactivate Lee Left?")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("1 open ticket assigned to Lee Left goes to the other agents")
    await expect(dialog.get_by_role("link", name=f"#{ticket['id']} Printer jams")).to_be_visible()
    await expect(dialog).to_contain_text("1 session and 0 API tokens end at once")
    await shoot(page, "admin-users-deactivate")
    assert server.call("GET", f"/api/tickets/{ticket['id']}", admin)["assignee_id"] == leaver.id  # nothing yet
    await dialog.get_by_role("button", name="Deactivate").click()
    await expect(page.locator("#flash")).to_have_text("Deactivated Lee Left")
    await expect(page.locator(f'tr[data-user-id="{leaver.id}"] td[data-label="Active"]')).to_have_text("no")
    assert server.call("GET", f"/api/tickets/{ticket['id']}", admin)["assignee_id"] is None

    await page.goto(server.url + "/admin/users")
    await page.get_by_text("Import users from CSV").click()
    csv = "name,email,role\nNia New,nia@example.com,agent\nBad,nope,agent\n"
    await page.get_by_label("CSV file").set_input_files(
        {"name": "people.csv", "mimeType": "text/csv", "buffer": csv.encode()}
    )
    await page.get_by_role("button", name="Preview").click()
    rows = page.locator("#import-rows tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text("will be created")
    await expect(rows.nth(1)).to_contain_text("refused not an email address")
    await expect(page.locator(".import-summary")).to_contain_text("Nothing is written yet")
    await shoot(page, "admin-users-import-preview")
    assert not [u for u in server.call("GET", "/api/users?q=nia", admin)]
    await page.get_by_role("button", name="Import 1 user").click()
    await expect(rows.nth(0)).to_contain_text("created")
    await expect(page.locator("#users-table td[data-label='Email']", has_text="nia@example.com")).to_have_count(1)
    await page.goto(server.url + "/admin/users")
    await shoot(page, "admin-users")
