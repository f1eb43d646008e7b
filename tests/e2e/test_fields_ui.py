"""Custom fields in the browser: an admin's required "Contract number" must be filled on the new-ticket form
(the form says so and will not send without it), the ticket page shows it to the requester read-only, and an
agent edits the fields there while the queue, showing them as columns, follows live. Screenshots of the admin page,
the form, the ticket page and the queue."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser


async def test_a_required_field_on_the_new_ticket_form(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    agent = server.account(admin, "agent", "Bea Agent")
    rita = server.account(admin, "requester", "Rita Requester")
    contract = {"key": "contract_number", "label": "Contract number", "type": "text", "requester_visible": True}
    server.call("POST", "/api/fields", admin, json={**contract, "required_for_requesters": True})
    plan = {"key": "plan", "label": "Plan", "type": "select", "options": ["basic", "pro"]}
    server.call("POST", "/api/fields", admin, json=plan)

    fields = await signed_in(browser, server, admin, "/admin/fields")
    await expect(fields.locator('#fields tr[data-field-key="plan"]')).to_contain_text("Single select")
    await shoot(fields, "admin-fields")

    form = await signed_in(browser, server, rita, "/tickets/new")
    await expect(form.get_by_label("Contract number (required)")).to_be_visible()
    await expect(form.get_by_label("Plan")).to_have_count(0)  # staff only: not on a requester's form
    await form.get_by_label("Title").fill("Renewal question")
    await form.get_by_role("button", name="Open ticket").click()
    invalid = await form.get_by_label("Contract number (required)").evaluate("e => !e.checkValidity()")
    assert invalid and form.url.endswith("/tickets/new")  # the browser keeps the form: nothing was sent
    await shoot(form, "ticket-new-fields")
    await form.get_by_label("Contract number (required)").fill("C-2041")
    await form.get_by_role("button", name="Open ticket").click()
    await expect(form.locator('[data-field="field-contract_number"]')).to_have_text("C-2041")
    await expect(form.locator("#fields-form")).to_have_count(0)  # requesters read, staff edit

    ticket_id = form.url.rstrip("/").split("/")[-1]
    queue = await signed_in(browser, server, agent, "/queue?columns=field:contract_number,field:plan")
    row = queue.locator(f'tr[data-ticket-id="{ticket_id}"]')
    await expect(row.locator('[data-field="field:contract_number"]')).to_have_text("C-2041")
    await expect(queue.get_by_role("columnheader", name="Plan")).to_be_visible()
    desk = await signed_in(browser, server, agent, f"/tickets/{ticket_id}")
    await desk.locator("#edit-plan").select_option("pro")
    await desk.get_by_role("button", name="Save fields").click()
    await expect(desk.locator('[data-field="field-plan"]')).to_have_text("pro")
    await shoot(desk, "ticket-fields")
    await expect(row.locator('[data-field="field:plan"]')).to_have_text("pro")  # the queue row follows live
    await shoot(queue, "queue-field-columns")
