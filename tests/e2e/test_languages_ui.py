"""Languages in Chromium: an agent switches to Arabic on the account page and the desk mirrors right to left;
a browser that asks for German gets the sign-in page in German. Screenshots of each."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import Account, Server, shoot, signed_in

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


async def _zone_becomes(server: Server, who: Account, zone: str) -> None:
    """Wait (bounded) until `who`'s stored zone is `zone`: the page stores it in the background."""
    for _ in range(100):
        if server.call("GET", "/api/auth/me", who)["timezone"] == zone:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the zone never became {zone}")


async def test_the_browser_zone_is_stored_once_and_never_replaces_a_chosen_one(
    server: Server, browser: Browser
) -> None:
    admin = server.account(None, "admin", "Zed Admin")
    unset = server.account(admin, "requester", "Una Unset")
    chosen = server.account(admin, "requester", "Cho Chosen")
    server.call("PATCH", "/api/auth/me", chosen, json={"timezone": "Asia/Tokyo"})

    page = await signed_in(browser, server, unset, "/account", timezone_id="America/Sao_Paulo")
    await _zone_becomes(server, unset, "America/Sao_Paulo")
    await page.reload()  # stored now: the page no longer offers it, and the account page shows it
    await expect(page.locator("body")).not_to_have_attribute("data-zone-unset", "")
    await expect(page.locator("#timezone")).to_have_value("America/Sao_Paulo")
    await page.context.close()

    page = await signed_in(browser, server, chosen, "/account", timezone_id="America/Sao_Paulo")
    await expect(page.locator("body")).to_have_attribute("data-role", "requester")
    await expect(page.locator("body")).not_to_have_attribute("data-zone-unset", "")  # so nothing is sent
    await page.goto(server.url + "/tickets")
    assert server.call("GET", "/api/auth/me", chosen)["timezone"] == "Asia/Tokyo"
    await page.context.close()
