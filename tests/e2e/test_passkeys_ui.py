"""A passkey in Chromium, with its virtual authenticator (CDP `WebAuthn`, a resident key that verifies the user):
add one on the account page, sign out, sign in with it and no password."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import PASSWORD, Server, shoot

pytestmark = pytest.mark.browser


@pytest.fixture
def localhost_server(tmp_path: Path, sqlite_template: Path) -> Iterator[Server]:
    """NixFlow at http://localhost:PORT: a browser takes a domain, never an IP address, as a passkey's RP id."""
    srv = Server(tmp_path / "nixflow.db")
    srv.extra = {"NIXFLOW_BASE_URL": f"http://localhost:{srv.port}"}
    shutil.copyfile(sqlite_template, srv.db_path)
    srv.start()
    yield srv
    srv.stop()


async def test_add_a_passkey_sign_out_and_sign_in_with_it(localhost_server: Server, browser: Browser) -> None:
    server = localhost_server
    site = f"http://localhost:{server.port}"
    pat = server.account(None, "agent", "Pat Passkey")
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable")
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }
    authenticator = (await cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options}))["authenticatorId"]

    await page.goto(site + "/login?next=/account")
    await page.get_by_label("Email").fill(pat.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.wait_for_url(site + "/account")
    await expect(page.locator("#passkey-none")).to_be_visible()
    await page.get_by_label("Name of the new passkey").fill("This laptop")
    await page.get_by_role("button", name="Add a passkey").click()
    await expect(page.locator("#passkey-status")).to_have_text("Passkey added")
    await expect(page.get_by_label("Passkey name")).to_have_value("This laptop")
    [stored] = (await cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator}))["credentials"]
    assert stored["isResidentCredential"] and stored["rpId"] == "localhost"
    await page.locator("#passkeys").scroll_into_view_if_needed()
    await shoot(page, "account-passkeys")

    await page.locator("#logout").click()
    await page.wait_for_url(re.compile(re.escape(site) + r"/login"))
    await page.goto(site + "/login")  # signed out: the page's own redirects may or may not carry ?next=/account
    passkey_button = page.get_by_role("button", name="Sign in with a passkey")
    await expect(passkey_button).to_be_visible()
    await shoot(page, "login-passkey")
    await passkey_button.click()
    await page.wait_for_url(site + "/queue")  # an agent starts at the queue
    await expect(page.locator("header .who")).to_contain_text("Pat Passkey")
    listed = server.call("GET", "/api/auth/passkeys", pat)
    assert [p["name"] for p in listed] == ["This laptop"] and listed[0]["last_used_at"] is not None
    await context.close()
