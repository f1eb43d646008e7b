"""The web UI in Chromium against scale-out mode: PostgreSQL, Redis Streams, an API process and a worker process."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]


async def test_the_queue_shows_live_what_the_worker_did_in_scale_out_mode(
    scaleout_server: Server, browser: Browser
) -> None:
    server = scaleout_server
    admin = server.account(None, "admin", "Ada Admin")
    agent = server.account(admin, "agent", "Alan Agent")
    requester = server.account(admin, "requester", "Rita Requester")
    category = server.call("POST", "/api/categories", admin, json={"name": "Network", "agent_ids": [agent.id]})
    assert server.call("GET", "/api/health", admin)["bus"] == "ok"  # Redis, not the embedded bus

    page = await signed_in(browser, server, agent, "/queue")
    await expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible(timeout=10_000)
    body = {"title": "Core switch is down", "description": "floor 3 is offline", "category_id": category["id"]}
    ticket = server.call("POST", "/api/tickets", requester, json=body)

    # The API process committed the ticket; the worker process (through Redis Streams) made it critical and
    # assigned it; the API process's page shows all of it live, from the log, without a reload.
    row = page.locator(f'tr[data-ticket-id="{ticket["id"]}"]')
    await expect(row).to_contain_text("Core switch is down", timeout=15_000)  # two processes on a busy CI box
    await expect(row.locator('[data-field="priority"]')).to_have_text("critical", timeout=15_000)
    await expect(row.locator('[data-field="assignee"]')).to_have_text(agent.name, timeout=15_000)
    await shoot(page, "queue-scaleout")

    await row.get_by_role("link", name="Core switch is down").click()
    # The ticket page's script is running (its live connection is up) before the form is used.
    await expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible(timeout=15_000)
    await page.get_by_label("Add a comment").fill("Rebooting the switch")
    await page.get_by_role("button", name="Comment").click()
    await expect(page.locator(".comments")).to_contain_text("Rebooting the switch", timeout=15_000)
    stored = server.call("GET", f"/api/tickets/{ticket['id']}", requester)
    assert stored["priority"] == "critical" and stored["assignee_id"] == agent.id
    assert stored["sla"]["first_response_at"] is not None
