"""A forgotten password in Chromium, with a real SMTP server: ask on the sign-in page, open the mailed link, set
a new password, sign in with it; the same link refused a second time. Embedded and scale-out."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import PASSWORD, Server, mailing_to, shoot
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.browser
NEW_PASSWORD = "a-brand-new-passphrase"


@pytest.fixture(params=["embedded", pytest.param("scaleout", marks=[pytest.mark.postgres, pytest.mark.redis])])
def mailing_server(request: pytest.FixtureRequest, tmp_path: Path, smtp: SmtpServer) -> Iterator[Server]:
    srv = Server(tmp_path / "nixflow.db")
    if request.param == "scaleout":
        srv.database_url = str(request.getfixturevalue("postgres_database"))
        prefix = str(request.getfixturevalue("redis_prefix"))
        srv.redis = {"NIXFLOW_REDIS_URL": os.environ["NIXFLOW_TEST_REDIS_URL"], "NIXFLOW_REDIS_PREFIX": prefix}
    mailing_to(srv, smtp.url, NIXFLOW_TICK_SECONDS="0.2")
    srv.cli("db", "upgrade")
    srv.start()
    yield srv
    srv.stop()


async def test_forgot_password_from_the_sign_in_page_to_a_new_password(
    mailing_server: Server, browser: Browser, smtp: SmtpServer
) -> None:
    server = mailing_server
    admin = server.account(None, "admin", "Ada Admin")
    rita = server.account(admin, "requester", "Rita Requester")
    page = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()

    await page.goto(server.url + "/login")
    await page.get_by_role("link", name="Forgot your password?").click()
    await page.wait_for_url(server.url + "/password-reset")
    await page.get_by_label("Email").fill(rita.email)
    await page.get_by_role("button", name="Mail me a link").click()
    await page.wait_for_url(server.url + "/password-reset?sent=true")
    await expect(page.locator("#reset-sent")).to_contain_text("a link to choose a new password is on its way")
    await shoot(page, "password-reset-sent")

    [mail] = await asyncio.to_thread(smtp.inbox.wait_for, 1, address=rita.email, timeout=30)
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None
    [link] = re.findall(re.escape(server.url) + r"/password-reset/confirm#token=[A-Za-z0-9_-]+", text.get_content())
    await page.goto(link)
    await expect(page.get_by_role("button", name="Set my password")).to_be_visible()
    await expect(page).to_have_url(server.url + "/password-reset/confirm")  # the token left the address bar
    await page.locator("#password").fill(NEW_PASSWORD)
    await page.locator("#confirm_password").fill(NEW_PASSWORD + "-typo")
    await page.get_by_role("button", name="Set my password").click()
    assert await page.locator("#confirm_password").evaluate("e => !e.validity.valid")  # not sent: they differ
    await page.locator("#confirm_password").fill(NEW_PASSWORD)
    await shoot(page, "password-reset-confirm")
    await page.get_by_role("button", name="Set my password").click()
    await page.wait_for_url(server.url + "/login?reset=done")
    await expect(page.locator("#reset-done")).to_contain_text("Your new password is set")

    await page.get_by_label("Email").fill(rita.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.locator("#flash")).to_contain_text("email or password is wrong")
    await page.get_by_label("Password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.wait_for_url(server.url + "/tickets")

    await page.goto(link)  # the same link again
    await page.locator("#password").fill("yet-another-passphrase")
    await page.locator("#confirm_password").fill("yet-another-passphrase")
    await page.get_by_role("button", name="Set my password").click()
    await expect(page.locator("#flash")).to_contain_text("already used")


async def test_the_confirm_page_without_a_link_says_what_to_do(mailing_server: Server, browser: Browser) -> None:
    page = await (await browser.new_context()).new_page()
    await page.goto(mailing_server.url + "/password-reset/confirm")
    await expect(page.locator("#reset-missing")).to_be_visible()
    await expect(page.locator("#reset-form")).to_be_hidden()
    await page.get_by_role("link", name="ask for a new one").first.click()
    await page.wait_for_url(mailing_server.url + "/password-reset")
