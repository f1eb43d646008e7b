"""Languages in Chromium: an agent switches to Arabic on the account page and the desk mirrors right to left;
a browser that asks for German gets the sign-in page in German. Screenshots of each."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser


async def _fits(page: Page) -> None:
    """Nothing sticks out sideways: the page is no wider than the window (a mirrored layout that clips or overflows
    shows here first)."""
    overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the window"


async def test_an_agent_switches_to_arabic_and_the_desk_mirrors(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    agent = server.account(admin, "agent", "Aga Agent")
    ticket = server.call("POST", "/api/tickets", agent, json={"title": "الطابعة لا تعمل", "description": "منذ الصباح"})
    page = await signed_in(browser, server, agent, "/account")
    await expect(page.locator("html")).to_have_attribute("dir", "ltr")

    await page.locator("#locale").select_option("ar")
    await page.locator("#timezone").select_option("Asia/Riyadh")
    await page.get_by_role("button", name="Save language and time zone").click()
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await expect(page.locator("html")).to_have_attribute("lang", "ar")
    await expect(page.get_by_role("heading", name="اللغة والمنطقة الزمنية")).to_be_visible()
    assert server.call("GET", "/api/auth/me", agent)["timezone"] == "Asia/Riyadh"
    await shoot(page, "i18n-account-ar")

    for path, name in (("/queue", "i18n-queue-ar"), (f"/tickets/{ticket['id']}", "i18n-ticket-ar")):
        await page.goto(server.url + path)
        await expect(page.locator("html")).to_have_attribute("dir", "rtl")
        await expect(page.get_by_role("link", name="قائمة الانتظار")).to_be_visible()
        await shoot(page, name)
        await page.set_viewport_size({"width": 390, "height": 844})
        await _fits(page)
        await page.set_viewport_size({"width": 1280, "height": 800})


async def test_a_german_browser_gets_the_sign_in_page_in_german(server: Server, browser: Browser) -> None:
    context = await browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    await page.goto(server.url + "/login")
    await expect(page.locator("html")).to_have_attribute("lang", "de")
    await expect(page.get_by_role("button", name="Anmelden", exact=True)).to_be_visible()
    await expect(page.get_by_role("link", name="Passwort vergessen?")).to_be_visible()
    await shoot(page, "i18n-login-de")
    await page.get_by_role("link", name="Passwort vergessen?").click()
    await expect(page.get_by_role("button", name="Link per E-Mail senden")).to_be_visible()
    await shoot(page, "i18n-password-reset-de")
    await context.close()
