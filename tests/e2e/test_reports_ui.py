"""The reports page in Chromium: figures, charts that load, a filter, a drill-down to the tickets, CSV export."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser


@pytest.fixture(params=["server", pytest.param("scaleout_server", marks=[pytest.mark.postgres, pytest.mark.redis])])
def running(request: pytest.FixtureRequest) -> Server:
    server: Server = request.getfixturevalue(request.param)
    return server


async def test_an_agent_reads_the_figures_drills_down_and_exports(running: Server, browser: Browser) -> None:
    server = running
    admin = server.account(None, "admin", "Ada Admin")
    agent = server.account(admin, "agent", "Alan Agent")
    requester = server.account(admin, "requester", "Rita Requester")
    printers = server.call("POST", "/api/categories", admin, json={"name": "Printers"})["id"]
    opened = [
        server.call("POST", "/api/tickets", requester, json={"title": title, "category_id": category})["id"]
        for title, category in (("Printer jams", printers), ("Mailbox full", None), ("Toner empty", printers))
    ]
    server.call("POST", f"/api/tickets/{opened[0]}/comments", agent, json={"body": "On my way"})  # opens it
    server.call("POST", f"/api/tickets/{opened[0]}/transition", agent, json={"status": "resolved"})

    page = await signed_in(browser, server, agent, "/reports")
    figures = page.locator("#report-figures")
    await expect(figures.locator('tr[data-metric="tickets_created"] td')).to_have_text("3")
    await expect(figures.locator('tr[data-metric="tickets_solved"] td')).to_have_text("1")
    await expect(figures.locator('tr[data-metric="backlog"] td')).to_have_text("2")
    await expect(figures.locator('tr[data-metric="first_reply"] td')).to_contain_text("(1)")
    for name in ("Tickets created and solved", "Backlog at the end of each interval", "Median first reply time"):
        chart = page.get_by_role("img", name=name)
        await expect(chart).to_be_visible()
        assert await chart.evaluate("img => img.complete && img.naturalWidth > 0"), f"the chart {name} did not load"
    await shoot(page, "reports")

    await page.get_by_label("Category").select_option(label="Printers")
    await page.get_by_role("button", name="Show").click()
    await expect(figures.locator('tr[data-metric="tickets_created"] td')).to_have_text("2")
    await expect(figures.locator('tr[data-metric="backlog"] td')).to_have_text("1")

    await figures.get_by_role("link", name="Tickets created").click()
    rows = page.locator("#report-tickets tbody tr")
    await expect(rows).to_have_count(2)
    await expect(page.locator("#report-tickets")).to_contain_text("Printer jams")
    await expect(page.locator("#report-tickets")).not_to_contain_text("Mailbox full")
    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="these tickets (CSV)").click()
    download = await downloading.value
    lines = (await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8")).splitlines()
    assert lines[0].startswith("ticket_id,title,") and len(lines) == 3
    assert {line.split(",")[0] for line in lines[1:]} == {str(opened[0]), str(opened[2])}

    await page.get_by_role("link", name="Printer jams").click()
    await expect(page).to_have_url(f"{server.url}/tickets/{opened[0]}")
