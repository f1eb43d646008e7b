"""SAML sign-in in Chromium, as a new person would: the sign-in page's button, the IdP's page, its page posting the
signed Response to NixFlow's ACS, and the queue of an agent (the role of their group)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot
from tests.saml_helpers import MAPPING, idp_process  # noqa: F401 (a fixture)
from tests.saml_idp import RunningIdp

pytestmark = pytest.mark.browser


@pytest.fixture
def linked_server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "nixflow.db")
    srv.extra = {"NIXFLOW_BASE_URL": srv.url}  # the SP's entity id and ACS, as the IdP sees them
    srv.cli("db", "upgrade")
    srv.start()
    yield srv
    srv.stop()


async def test_a_new_person_signs_in_with_saml_and_lands_as_an_agent(
    linked_server: Server, browser: Browser, idp: RunningIdp
) -> None:
    server = linked_server
    admin = server.account(None, "admin", "Ada Admin")
    config = {"kind": "saml", "idp_metadata": {"xml": idp.metadata()}}
    body = {"slug": "corp", "name": "Corp account", "config": config, "role_mapping": MAPPING}
    server.call("POST", "/api/identity-providers", admin, json=body)
    page = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
    idp.trust(await (await page.request.get(f"{server.url}/api/auth/saml/corp/metadata")).text())
    await page.goto(server.url + "/login")
    button = page.get_by_role("link", name="Corp account")
    await expect(button).to_be_visible()
    await shoot(page, "login-with-sso")
    await button.click()
    await page.wait_for_url(idp.url + "/sso*")
    await page.get_by_label("Account").select_option("alice")
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.wait_for_url(server.url + "/queue")
    await expect(page.locator("a.who")).to_contain_text("Alice Agent")
    me = await page.request.get(server.url + "/api/auth/me")
    assert (await me.json())["role"] == "agent"
