"""Single sign-on in Chromium, as a new user would: an admin adds the organization's OpenID provider on the admin
page, with a rule that its `helpdesk-agents` group makes agents; a person who never had an account presses the
provider's button on the sign-in page, signs in at the provider (the real test provider), and lands in the queue
as an agent."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in
from tests.oidc_helpers import idp_url, person, register_client

pytestmark = pytest.mark.browser


async def test_a_person_signs_in_through_the_provider_for_the_first_time_and_lands_as_an_agent(
    server: Server, browser: Browser
) -> None:
    issuer = idp_url()
    client = register_client(f"{server.url}/api/auth/oidc/corp/callback")
    admin = server.account(None, "admin", "Ada Admin")
    page = await signed_in(browser, server, admin, "/admin/identity-providers")
    new = page.locator("#idp-new")
    await new.get_by_label("Name (the button says").fill("Corp SSO")
    await new.get_by_label("Slug").fill("corp")
    await new.get_by_label("Issuer URL").fill(issuer)
    await new.get_by_label("Client ID").fill(client["client_id"])
    await new.get_by_label("Client secret").fill(client["client_secret"])
    await new.get_by_label("Group rules").fill(json.dumps([{"group": "helpdesk-agents", "role": "agent"}]))
    await new.get_by_role("button", name="Add provider").click()
    section = page.locator("section[data-provider-id]")
    await expect(section.get_by_role("heading", name="Corp SSO")).to_be_visible()
    await expect(section).to_contain_text("client_secret")
    await shoot(page, "admin-identity-providers")

    login = person(groups=("helpdesk-agents",), name="Grace Newcomer")
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    visitor = await context.new_page()
    await visitor.goto(server.url + "/login?next=/queue")
    button = visitor.get_by_role("link", name="Sign in with Corp SSO")
    await expect(button).to_be_visible()
    await shoot(visitor, "login-sso")
    await button.click()
    await visitor.get_by_label("Login").fill(login)
    await visitor.get_by_label("Password").fill(login)
    await visitor.get_by_role("button", name="Sign in", exact=True).click()
    await visitor.get_by_role("button", name="Allow").click()
    await visitor.wait_for_url(server.url + "/queue")
    await expect(visitor.locator(".who")).to_contain_text("Grace Newcomer")
    await expect(visitor.locator(".who .role")).to_have_text("agent")
