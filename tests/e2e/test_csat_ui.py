"""Satisfaction in Chromium, as a new user would: an agent resolves a reply with time logged, the requester rates
the ticket from the mailed link (taken from the real SMTP capture), and the rating, its comment and the time appear
in the reports. Embedded mode (the storage of both modes is proven by the API tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.csat_helpers import mailed_survey
from tests.e2e.conftest import Server, mailing_to, shoot, signed_in
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.browser


@pytest.fixture
def mailing_server(tmp_path: Path, smtp: SmtpServer) -> Iterator[Server]:
    srv = Server(tmp_path / "nixflow.db")
    mailing_to(srv, smtp.url, NIXFLOW_NOTIFY_DELAY_SECONDS="0")
    srv.cli("db", "upgrade")
    srv.start()
    yield srv
    srv.stop()


async def test_a_requester_rates_a_resolved_ticket_and_the_rating_is_in_the_reports(
    mailing_server: Server, browser: Browser, smtp: SmtpServer
) -> None:
    server = mailing_server
    admin = server.account(None, "admin", "Ada Admin")
    ana = server.account(admin, "agent", "Ana Agent")
    rita = server.account(admin, "requester", "Rita Requester")
    ticket = server.call("POST", "/api/tickets", rita, json={"title": "VPN drops every hour"})
    current = server.call("GET", f"/api/tickets/{ticket['id']}", admin)
    server.call(
        "PATCH", f"/api/tickets/{ticket['id']}", admin, json={"version": current["version"], "assignee_id": ana.id}
    )

    agent = await signed_in(browser, server, ana, f"/tickets/{ticket['id']}")
    await expect(agent.locator("#comment-form")).to_have_attribute("data-split-ready", "true")
    await agent.locator("#comment-body").fill("The tunnel's keepalive was off; fixed.")
    await agent.get_by_label("Time spent").fill("20")
    await agent.locator("#reply-billable").check()
    await agent.get_by_role("button", name="Send as Resolved").click()
    await expect(agent.locator("#time-total")).to_contain_text("20 min")
    await expect(agent.locator("#csat-answer")).to_contain_text("No survey answer yet")
    await shoot(agent, "csat-ticket-agent")

    link = (await asyncio.to_thread(mailed_survey, smtp, rita.email))["good"]
    assert link.startswith(server.url + "/csat?rating=good#token=")
    visitor = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
    await visitor.goto(link)
    await expect(visitor.locator("#csat-ticket")).to_contain_text("VPN drops every hour")
    await expect(visitor.get_by_label("Good")).to_be_checked()  # chosen in the mail, not yet recorded
    await visitor.get_by_label("Comment").fill("Quick and clear, thanks")
    await shoot(visitor, "csat-confirm")
    await visitor.get_by_role("button", name="Send my answer").click()
    await expect(visitor.locator("#csat-done")).to_contain_text('your answer "good" was recorded')

    requester = await signed_in(browser, server, rita, f"/tickets/{ticket['id']}")
    await expect(requester.locator("#csat-answer")).to_contain_text("You rated it good")
    await expect(requester.locator("#time-total")).to_have_count(0)  # requesters never see time
    await shoot(requester, "csat-ticket-requester")

    await agent.goto(server.url + "/reports")
    await agent.locator("#satisfaction-link").click()
    row = agent.locator(f'#csat-results tr[data-key="{ana.id}"]')
    await expect(row).to_contain_text("Ana Agent")
    await expect(row).to_contain_text("100 %")
    await expect(agent.locator(f'#time-totals tr[data-key="{ana.id}"]')).to_contain_text("20")
    await shoot(agent, "csat-reports")
    await row.get_by_role("link", name="Ana Agent").click()
    await expect(agent.locator("#csat-comments")).to_contain_text("Quick and clear, thanks")
    await expect(agent.locator(".count")).to_contain_text("for agent Ana Agent")
    await shoot(agent, "csat-comments")
