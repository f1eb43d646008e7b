"""The Mail quarantine page in Chromium against a real `nixflow serve`: retry a held mail into a ticket, discard
another after confirming. The mail is held for real: a trigger in the server's database refuses its ticket
(tests/quarantine_helpers.py), and dropping it is the fix."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from playwright.async_api import Browser, Dialog, expect

from tests.e2e.conftest import Server, shoot, signed_in
from tests.quarantine_helpers import POISON, fix, poison, refuse_poison

pytestmark = pytest.mark.browser


def _pipe(server: Server, raw: bytes) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "nixflow.cli", "mail", "receive"]
    return subprocess.run(command, input=raw, env=server.env, capture_output=True, timeout=60)


async def test_an_admin_retries_one_held_mail_and_discards_another(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    database_url = server.env["NIXFLOW_DATABASE_URL"]
    await asyncio.to_thread(refuse_poison, database_url)  # a trigger in the server's database: "a bug"
    for message_id in ("<poison-1@customer.test>", "<poison-2@customer.test>"):
        piped = await asyncio.to_thread(_pipe, server, poison(message_id))
        assert piped.returncode == 0 and b"quarantined as" in piped.stdout, piped.stderr
    broken, retried = [i["id"] for i in server.call("GET", "/api/mail/quarantine", admin)["items"]]  # newest first

    page = await signed_in(browser, server, admin, "/admin/mail-quarantine")
    await expect(page.get_by_role("link", name="Mail quarantine")).to_have_attribute("aria-current", "page")
    await expect(page.locator(f"#held-{broken}")).to_contain_text("IntegrityError")
    await expect(page.locator(f"#held-{broken}")).to_contain_text(POISON)
    await shoot(page, "admin-mail-quarantine")

    await asyncio.to_thread(fix, database_url)  # "the fix": the trigger dropped, a retry stores the mail

    await page.get_by_role("button", name=f"Retry {retried}").click()
    await expect(page.locator(f"#held-{retried}")).to_have_count(0)  # stored now: no longer held
    item = server.call("GET", f"/api/mail/quarantine/{retried}", admin)
    assert item["state"] == "retried" and item["outcome"] == "ticket"
    assert server.call("GET", f"/api/tickets/{item['ticket_id']}", admin)["title"] == POISON

    asked: list[str] = []

    async def answer(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await (dialog.dismiss() if len(asked) == 1 else dialog.accept())

    page.on("dialog", answer)
    await page.get_by_role("button", name=f"Discard {broken}").click()  # dismissed: nothing changes
    await expect(page.locator(f"#held-{broken}")).to_be_visible()
    assert server.call("GET", f"/api/mail/quarantine/{broken}", admin)["state"] == "held"
    await page.get_by_role("button", name=f"Discard {broken}").click()
    await expect(page.locator(f"#held-{broken}")).to_have_count(0)
    assert asked and "bytes are dropped" in asked[0]
    assert server.call("GET", f"/api/mail/quarantine/{broken}", admin)["state"] == "discarded"

    await page.get_by_role("link", name="All").click()
    await expect(page.locator(f"#held-{retried}")).to_contain_text(f"ticket {item['ticket_id']}")
    await shoot(page, "admin-mail-quarantine-all")
