"""Knowledge-base translations in Chromium: an agent translates an article with the page's form; a German reader's
search lists the German translation first; the Arabic translation reads right to left."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser

VPN = {
    "title": "VPN keeps disconnecting",
    "body": "Switch the VPN client to the **TCP** profile; the UDP one drops on hotel networks.",
    "status": "published",
    "visibility": "requesters",
}
ARABIC = {"language": "ar", "title": "الشبكة الافتراضية تنقطع باستمرار", "body": "بدّل عميل VPN إلى ملف **TCP** الشخصي."}


async def test_an_agent_translates_and_readers_find_their_language(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    agent = server.account(admin, "agent", "Alan Agent")
    requester = server.account(admin, "requester", "Rita Requester")
    vpn = server.call("POST", "/api/kb/articles", agent, json=VPN)
    server.call("POST", "/api/kb/articles", agent, json={**VPN, "title": "Install the VPN client", "body": "Portal."})

    page = await signed_in(browser, server, agent, f"/kb/{vpn['id']}")
    await page.get_by_role("link", name="Add a translation").click()
    form = page.locator("form[data-api$='/translations']")
    await expect(page.locator("#edit-title")).to_have_count(0)  # translating replaces the edit form
    await shoot(page, "kb-translate-form")
    await form.get_by_label("Language").select_option(label="Deutsch")
    await form.get_by_label("Title").fill("VPN trennt ständig die Verbindung")
    await form.get_by_label("Body (Markdown)").fill("Stellen Sie den VPN-Client auf das **TCP**-Profil um.")
    await form.get_by_role("button", name="Save translation").click()
    await expect(page.locator(".article-body[lang=de] strong")).to_have_text("TCP")
    await expect(page.locator("nav.kb-languages")).to_contain_text("English")
    [german] = [
        a for a in server.call("GET", f"/api/kb/articles/{vpn['id']}/translations", agent) if a["language"] == "de"
    ]
    assert page.url.endswith(f"/kb/{german['id']}") and german["version"] == 1
    await shoot(page, "kb-translation-de-staff")
    server.call("POST", f"/api/kb/articles/{vpn['id']}/translations", agent, json=ARABIC)

    reader = await signed_in(browser, server, requester, "/kb")
    await reader.set_extra_http_headers({"Accept-Language": "de-DE,de;q=0.9"})
    await reader.goto(server.url + "/kb?q=vpn")
    hits = reader.locator("ol.kb-list > li > a")
    await expect(hits).to_have_text(["VPN trennt ständig die Verbindung", "Install the VPN client"])
    await shoot(reader, "kb-search-de")

    await reader.goto(server.url + f"/kb/{vpn['id']}?language=ar")
    body = reader.locator(".article-body")
    await expect(body).to_have_attribute("dir", "rtl")
    await expect(body.locator("strong")).to_have_text("TCP")
    await shoot(reader, "kb-article-ar")
    await reader.locator("nav.kb-languages").get_by_role("link", name="Deutsch").click()
    await expect(reader.locator(".article-body")).to_have_attribute("lang", "de")
