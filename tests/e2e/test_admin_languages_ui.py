"""The admin and report pages in Chromium in German and in Arabic (issue 30): what a browser asking for the language
shows, with screenshots of each page at desktop and phone width in both languages."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser

SHOWN = {
    "de": {"users": "Benutzer anlegen", "members": "2 Mitglieder", "reports": "Kennzahlen des Zeitraums"},
    "ar": {"users": "إنشاء مستخدم", "members": "عضوان (2)", "reports": "مؤشرات الفترة"},
}


@pytest.mark.parametrize("language", ["de", "ar"])
async def test_an_admin_reads_users_organizations_and_reports_in_their_language(
    server: Server, browser: Browser, language: str
) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    people = [server.account(admin, "requester", name) for name in ("Rita Requester", "Rolf Requester")]
    organization = server.call("POST", "/api/organizations", admin, json={"name": "Acme"})["id"]
    for person in people:
        server.call("POST", f"/api/organizations/{organization}/members", admin, json={"user_id": person.id})
    server.call("POST", "/api/tickets", people[0], json={"title": "Printer jams", "description": "again"})

    page = await signed_in(browser, server, admin, "/admin/users")
    await page.set_extra_http_headers({"Accept-Language": language})
    shown = SHOWN[language]

    await page.reload()
    await expect(page.locator("summary", has_text=shown["users"])).to_be_visible()
    await shoot(page, f"admin-users-{language}")

    await page.goto(server.url + "/admin/organizations")
    await expect(page.locator(f'[data-organization-id="{organization}"]')).to_contain_text(shown["members"])
    await shoot(page, f"admin-organizations-{language}")

    await page.goto(server.url + "/reports")
    await expect(page.locator("#report-figures caption")).to_contain_text(shown["reports"])
    chart = page.locator("figure.chart img").first
    await expect(chart).to_be_visible()
    assert await chart.evaluate("img => img.complete && img.naturalWidth > 0"), "the chart did not load"
    await shoot(page, f"reports-{language}")
