"""The Webhooks page in Chromium against a real `nixflow serve` and a real receiver: subscribe, see the secret once,
see the delivery, pause."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in
from tests.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.browser


@pytest.fixture
def hooked_server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "nixflow.db", extra={"NIXFLOW_WEBHOOK_ALLOW_PRIVATE": "true"})
    srv.cli("db", "upgrade")
    srv.start()
    yield srv
    srv.stop()


async def test_an_admin_subscribes_a_receiver_on_the_webhooks_page(hooked_server: Server, browser: Browser) -> None:
    server = hooked_server
    admin = server.account(None, "admin", "Ada Admin")
    with webhook_receiver() as receiver:
        page = await signed_in(browser, server, admin, "/admin/webhooks")
        await page.get_by_label("URL").fill(receiver.url)
        await page.get_by_label("Event types").fill("ticket.created")
        await page.get_by_label("Description").fill("the team chat")
        await page.get_by_role("button", name="Create webhook").click()
        await expect(page.locator("#secret-value")).to_contain_text("whsec_")
        receiver.secrets.append(str(await page.locator("#secret-value").text_content()))
        await expect(page.locator("#webhooks")).to_contain_text(receiver.url)

        ticket = server.call("POST", "/api/tickets", admin, json={"title": "Hello hooks"})
        (got,) = await asyncio.to_thread(receiver.wait_for, 1, 30)
        assert got.verified_by and got.body["data"]["ticket_id"] == ticket["id"]
        hook = server.call("GET", "/api/webhooks", admin)[0]
        for _ in range(50):
            items = server.call("GET", f"/api/webhooks/{hook['id']}/deliveries", admin)["items"]
            if items and items[0]["status"] == "succeeded":
                break
            await asyncio.sleep(0.1)

        await page.get_by_role("button", name="Deliveries").click()
        await expect(page.locator("#deliveries")).to_contain_text("succeeded")
        await page.get_by_role("button", name="Pause").click()
        await expect(page.locator("#webhooks")).to_contain_text("paused")
        await shoot(page, "admin-webhooks")
        assert server.call("GET", f"/api/webhooks/{hook['id']}", admin)["mode"] == "paused"

        await page.reload()
        await expect(page.locator("#webhooks")).to_contain_text(receiver.url)
        await expect(page.locator("#secret-box")).to_be_hidden()  # shown once, at creation
