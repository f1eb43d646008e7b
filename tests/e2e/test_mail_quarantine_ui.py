"""The Mail quarantine page in Chromium against a real `nixflow serve`: retry a held mail into a ticket, discard
another after confirming."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from playwright.async_api import Browser, Dialog, expect

from nixflow.email_in import quarantine
from nixflow.events.envelope import EventContext
from nixflow.ids import utcnow, uuid7
from nixflow.store.db import Database
from nixflow.store.writer import make_writer
from tests import mail_corpus as corpus
from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser


def _pipe(server: Server, raw: bytes) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "nixflow.cli", "mail", "receive"]
    return subprocess.run(command, input=raw, env=server.env, capture_output=True, timeout=60)


def _held_before_the_fix(server: Server) -> int:
    """A mail held as the intake before the bounded parser held it (a RecursionError), written to the server's
    database by NixFlow's own writer."""
    writer = make_writer(Database(server.env["NIXFLOW_DATABASE_URL"]), utcnow)
    error = RecursionError("maximum recursion depth exceeded")
    raw = corpus.plain(message_id="<held-before-the-fix@customer.test>")
    try:
        ctx = EventContext(correlation_id=uuid7(), actor_id=None, source="test")
        return writer.run_sync(lambda tx: quarantine.hold(tx, raw, source="imap", error=error, mail=None), ctx)
    finally:
        writer.close()


async def test_an_admin_retries_one_held_mail_and_discards_another(server: Server, browser: Browser) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    retried = await asyncio.to_thread(_held_before_the_fix, server)
    piped = await asyncio.to_thread(_pipe, server, corpus.eight_bit_subject())
    assert piped.returncode == 0 and b"quarantined as" in piped.stdout, piped.stderr
    [broken] = [i["id"] for i in server.call("GET", "/api/mail/quarantine", admin)["items"] if i["id"] != retried]

    page = await signed_in(browser, server, admin, "/admin/mail-quarantine")
    await expect(page.get_by_role("link", name="Mail quarantine")).to_have_attribute("aria-current", "page")
    await expect(page.locator(f"#held-{broken}")).to_contain_text("UnicodeEncodeError")
    await expect(page.locator(f"#held-{broken}")).to_contain_text("Café printer is kaputt")
    await shoot(page, "admin-mail-quarantine")

    await page.get_by_role("button", name=f"Retry {retried}").click()
    await expect(page.locator(f"#held-{retried}")).to_have_count(0)  # stored now: no longer held
    item = server.call("GET", f"/api/mail/quarantine/{retried}", admin)
    assert item["state"] == "retried" and item["outcome"] == "ticket"
    assert server.call("GET", f"/api/tickets/{item['ticket_id']}", admin)["title"] == "Printer on floor 2 is jammed"

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
