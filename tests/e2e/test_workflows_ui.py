"""A laptop request in Chromium, with a real SMTP server: it needs the manager's and then IT's approval; the
manager approves from the mail's link (a page that asks first), IT rejects on the ticket page, and the ticket's
workflow timeline shows both. Embedded mode (the API tests cover both modes)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.browser


@pytest.fixture
def mailing_server(tmp_path: Path, smtp: SmtpServer) -> Iterator[Server]:
    srv = Server(tmp_path / "nixflow.db")
    srv.extra = {
        "NIXFLOW_SMTP_URL": smtp.url,
        "NIXFLOW_MAIL_FROM": "NixFlow <help@example.com>",
        "NIXFLOW_BASE_URL": srv.url,
        "NIXFLOW_TICK_SECONDS": "0.2",
        "NIXFLOW_NOTIFY_DELAY_SECONDS": "0",
    }
    srv.cli("db", "upgrade")
    srv.start()
    yield srv
    srv.stop()


async def test_manager_approves_from_the_mail_and_it_rejects_on_the_page(
    mailing_server: Server, browser: Browser, smtp: SmtpServer
) -> None:
    server = mailing_server
    admin = server.account(None, "admin", "Ada Admin")
    mona = server.account(admin, "requester", "Mona Manager")
    ivo = server.account(admin, "agent", "Ivo It")
    rita = server.account(admin, "requester", "Rita Requester")
    field = {"key": "manager", "label": "Manager", "type": "text", "entity": "user"}
    server.call("POST", "/api/fields", admin, json=field)
    server.call("PATCH", f"/api/users/{rita.id}", admin, json={"fields": {"manager": mona.email}})
    hardware = server.call("POST", "/api/categories", admin, json={"name": "Hardware", "agent_ids": [ivo.id]})
    steps = [
        {"name": "Manager", "approvers": {"kind": "manager", "field": "manager"}, "deadline_hours": 48},
        {"name": "IT", "approvers": {"kind": "team", "category_id": hardware["id"]}, "rule": "any"},
    ]
    body = {"name": "Laptop request", "steps": steps, "on_rejected": {"status": "resolved"}}
    laptop = server.call("POST", "/api/workflows", admin, json=body)

    page = await signed_in(browser, server, admin, "/admin/workflows")
    await page.get_by_label("Hardware").select_option(label="Laptop request")
    await page.locator(f"form[data-api$='/categories/{hardware['id']}']").get_by_role("button", name="Set").click()
    await expect(page.locator("#flash")).to_contain_text("Saved")  # after the reload: stored
    await expect(page.get_by_label("Hardware")).to_have_value(str(laptop["id"]))
    await shoot(page, "admin-workflows")

    ticket = server.call(
        "POST",
        "/api/tickets",
        rita,
        json={"title": "A new laptop", "description": "Mine died", "category_id": hardware["id"]},
    )
    assert server.call("GET", f"/api/tickets/{ticket['id']}/workflow", admin)["steps"][0]["approver_ids"] == [mona.id]
    [mail] = await asyncio.to_thread(smtp.inbox.wait_for, 1, address=mona.email, timeout=30)
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None
    [link] = re.findall(re.escape(server.url) + r"/workflow/decide#token=[A-Za-z0-9_=-]+", text.get_content())

    outside = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
    await outside.goto(link)
    await expect(outside.locator("#decide-what")).to_contain_text(
        "“A new laptop” needs your decision on step 1 (Manager)"
    )
    await expect(outside).to_have_url(server.url + "/workflow/decide")  # the token left the address bar
    await shoot(outside, "workflow-decide")
    await outside.get_by_label("Reason (optional)").fill("Her laptop is five years old")
    await outside.get_by_role("button", name="Approve").click()
    await expect(outside.locator("#flash")).to_contain_text("your decision is recorded")

    desk = await signed_in(browser, server, ivo, f"/tickets/{ticket['id']}")
    card = desk.locator("#workflow")
    await expect(card.locator("[data-step='1'] .badge")).to_have_text("pending")
    await card.locator("#workflow-reject-reason").fill("None in stock this quarter")
    await card.get_by_role("button", name="Reject").click()
    timeline = desk.locator("#workflow .workflow-timeline")
    await expect(timeline).to_contain_text("Ivo It rejected step 2 (IT): “None in stock this quarter”")
    await expect(timeline).to_contain_text("Mona Manager approved step 1 (Manager) from the mail link")
    await expect(card.locator("#workflow-h .badge")).to_have_text("rejected")
    await expect(desk.locator("[data-field='status']")).to_contain_text("resolved")
    await shoot(desk, "ticket-workflow")
