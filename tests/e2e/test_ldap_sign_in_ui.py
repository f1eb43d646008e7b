"""An LDAP user signs in on the sign-in page in Chromium, against the real slapd: their directory user name (which
a type=email field would refuse) and password, and they land as an agent because of their group."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot
from tests.ldap_directory import USER_PASSWORD, Directory, directory  # noqa: F401


async def test_a_directory_user_signs_in_with_their_user_name(
    server: Server,
    browser: Browser,
    directory: Directory,  # noqa: F811
) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    login_name = directory.person(name="Dora Directory")
    agents = directory.group(login_name)
    provider = {
        "slug": "corp-directory",
        "name": "Corp directory",
        "config": directory.config(start_tls=True),
        "role_mapping": {"rules": [{"group": agents, "role": "agent"}]},
    }
    server.call("POST", "/api/identity-providers", admin, json=provider)

    page = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
    await page.goto(server.url + "/login?next=/queue")
    name = page.get_by_label("Email or user name")
    await expect(name).to_have_attribute("type", "text")
    await name.fill(login_name)
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_text("email or password is wrong")).to_be_visible()
    await shoot(page, "login-directory")

    await page.get_by_label("Password").fill(USER_PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.wait_for_url(server.url + "/queue")
    await expect(page.locator("a.who")).to_contain_text("Dora Directory")
    await expect(page.locator("a.who .role")).to_have_text("agent")
