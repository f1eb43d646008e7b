"""The Calendars page in Chromium against a real `nixflow serve`: create, add a version, attach it to an SLA
policy on the SLA page, refuse to delete it while used; the reports page's business-hours toggle."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser


async def test_an_admin_keeps_business_hours_on_the_calendars_page(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    page = await signed_in(browser, server, admin, "/admin/calendars")
    await expect(page.locator("main")).to_contain_text("No calendars yet")
    await page.locator("#cal-new-name").fill("Berlin office")
    await page.locator("#cal-new-tz").fill("Europe/Berlin")
    await page.locator("#cal-new-holidays").fill(json.dumps({"country": "DE", "dates": ["2030-12-24"]}))
    await page.get_by_role("button", name="Create").click()
    section = page.locator("section.calendar").first
    await expect(section).to_contain_text("Berlin office")
    await expect(section.locator("table.versions tbody tr")).to_have_count(1)
    await expect(section).to_contain_text("mon 09:00-17:00")
    [calendar] = server.call("GET", "/api/calendars", admin)
    assert calendar["holidays"] == {"country": "DE", "subdivision": None, "dates": ["2030-12-24"]}

    bad = {"mon": [["17:00", "09:00"]]}
    await section.locator("textarea[name=hours]").fill(json.dumps(bad))
    await section.get_by_role("button", name="Save a new version").click()
    await expect(page.locator("#flash")).to_contain_text("ends before it starts")
    await page.reload()
    split = {"mon": [["09:00", "12:00"], ["13:00", "17:00"]]}
    await section.locator("textarea[name=hours]").fill(json.dumps(split))
    await section.get_by_role("button", name="Save a new version").click()
    await expect(section.locator("table.versions tbody tr")).to_have_count(2)
    await expect(section).to_contain_text("mon 09:00-12:00, 13:00-17:00")
    await shoot(page, "admin-calendars")

    sla = await signed_in(browser, server, admin, "/admin/sla")
    form = sla.locator('form[data-priority="high"]')
    await expect(form.locator("input[name=first_response_minutes]")).not_to_have_value("")
    await form.get_by_label("Business hours").select_option(label="Berlin office")
    await form.get_by_role("button", name="Save high").click()
    await expect(sla.locator("#flash")).to_contain_text("Saved the high policy")
    assert server.call("GET", "/api/sla/policies/high", admin)["calendar_id"] == calendar["id"]

    await page.reload()
    await expect(page.locator("section.calendar").first).to_contain_text("SLA policy high")
    page.once("dialog", lambda dialog: dialog.accept())  # deleting asks first
    await page.get_by_role("button", name="Delete Berlin office").click()
    await expect(page.locator("#flash")).to_contain_text("in use")
    assert len(server.call("GET", "/api/calendars", admin)) == 1

    reports = await signed_in(browser, server, admin, "/reports")
    await expect(reports.locator("main")).to_contain_text("Calendar time")
    await reports.get_by_label("Business hours").check()
    await reports.get_by_role("button", name="Show").click()
    await expect(reports.locator("main")).to_contain_text("Business time")
    assert "business_hours=true" in reports.url
