"""Two-step sign-in in Chromium, as an agent whose role an admin made require it: enrol at sign-in (QR code, key,
first code, recovery codes), sign out, sign in with a code, then with a recovery code, which then no longer works."""

from __future__ import annotations

import time

import pyotp
import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import PASSWORD, Server, shoot, signed_in

pytestmark = pytest.mark.browser


async def password_step(page: Page, server: Server, email: str) -> None:
    """The sign-in form, which then goes on to the second step."""
    await page.goto(server.url + "/login?next=/queue")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.wait_for_url(server.url + "/login/mfa?next=/queue")


async def sign_out(page: Page, server: Server) -> None:
    await page.locator("#logout").click()
    await page.wait_for_url(server.url + "/login**")


async def test_an_agent_enrols_at_sign_in_then_signs_in_with_a_code_and_a_recovery_code(
    server: Server, browser: Browser
) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    agent = server.account(admin, "agent", "Otto Agent")
    admin_page = await signed_in(browser, server, admin, "/admin/mfa")
    await admin_page.get_by_label("Roles that must have a second factor").select_option(["agent"])
    await admin_page.get_by_role("button", name="Save policy").click()
    await expect(admin_page.locator("#flash")).to_contain_text("Policy saved")
    await shoot(admin_page, "mfa-admin-policy")

    page = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
    await password_step(page, server, agent.email)
    await expect(page.get_by_role("heading", name="Set up two-step sign-in")).to_be_visible()
    await page.get_by_role("button", name="Set up an authenticator app").click()
    await expect(page.locator("#mfa-qr svg")).to_be_visible()
    await shoot(page, "mfa-enrol-at-sign-in")
    secret = (await page.locator("#mfa-secret").text_content() or "").strip()
    totp = pyotp.TOTP(secret)
    await page.get_by_label("The six-digit code your app shows").fill(totp.now())
    await page.get_by_role("button", name="Turn on two-step sign-in").click()
    await expect(page.locator("#mfa-codes li")).to_have_count(10)
    codes = await page.locator("#mfa-codes li").all_text_contents()
    await shoot(page, "mfa-recovery-codes")
    await page.get_by_role("link", name="I have saved them, continue").click()
    await page.wait_for_url(server.url + "/queue")
    await sign_out(page, server)

    await password_step(page, server, agent.email)
    await shoot(page, "mfa-second-step")
    # The next time step's code: the one just used for enrolling never works twice.
    await page.get_by_label("Code from your authenticator app, or a recovery code").fill(totp.at(time.time() + 30))
    await page.get_by_role("button", name="Verify").click()
    await page.wait_for_url(server.url + "/queue")
    await page.goto(server.url + "/account")
    await expect(page.locator("#mfa-state")).to_contain_text("10 recovery codes left")
    await shoot(page, "mfa-account-on")
    await sign_out(page, server)

    await password_step(page, server, agent.email)
    await page.get_by_label("Code from your authenticator app, or a recovery code").fill(codes[0])
    await page.get_by_role("button", name="Verify").click()
    await page.wait_for_url(server.url + "/queue")
    await sign_out(page, server)

    await password_step(page, server, agent.email)
    await page.get_by_label("Code from your authenticator app, or a recovery code").fill(codes[0])
    await page.get_by_role("button", name="Verify").click()
    await expect(page.locator("#flash")).to_contain_text("the code is wrong or was already used")
    await expect(page).to_have_url(server.url + "/login/mfa?next=/queue")
