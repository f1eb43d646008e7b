"""Your sessions in Chromium: from the account page, end the session of another browser, then every session."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Dialog, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser


async def test_ending_another_browsers_session_and_then_all(server: Server, browser: Browser) -> None:
    aga = server.account(None, "agent", "Aga Agent")  # signed in once by the API too: a third session
    here = await signed_in(browser, server, aga, "/account")
    elsewhere = await signed_in(browser, server, aga, "/account")
    await here.reload()

    rows = here.locator("#sessions tbody tr")
    await expect(rows).to_have_count(3)
    await expect(here.locator("#sessions tr[aria-current]")).to_contain_text("(this one)")
    await shoot(here, "account-sessions")

    other = here.locator("#sessions tbody tr:not([aria-current])", has_text="Chrome on Linux")
    await expect(other).to_have_count(1)
    await other.get_by_role("button", name="End").click()
    await expect(rows).to_have_count(2)  # the page reloaded without it
    # The other browser is signed out: a page it opens now goes to the sign-in page. A new tab, not a reload of the
    # open one, whose own script may be leaving for the sign-in page already (its live connection was ended too),
    # which would abort the reload.
    probe = await elsewhere.context.new_page()
    await probe.goto(server.url + "/account")
    await expect(probe).to_have_url(server.url + "/login?next=%2Faccount")

    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    here.on("dialog", accept)
    await here.get_by_role("button", name="End all, including this one").click()
    await here.wait_for_url(server.url + "/login")
    assert (await here.request.get(server.url + "/api/auth/me", headers=aga.headers)).status == 401  # the token too
