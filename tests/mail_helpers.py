"""Mail in meets mail out: deliver a raw mail through the intake, and a ticket whose comment was mailed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from urllib.parse import urlsplit

from imap_tools import AND, BaseMailBox, MailBoxUnencrypted

from nixflow.email_in import intake
from nixflow.email_in.parse import parse
from nixflow.ids import uuid7
from tests.conftest import Harness, User
from tests.smtp_server import SmtpServer


@contextmanager
def imap_folder(imap_url: str) -> Iterator[tuple[str, BaseMailBox]]:
    """A folder of a test's own in the mailbox of `imap_url`'s user: `imap_url` pointing at it, and a client signed
    in with the URL's password to fill and inspect it. The folder is deleted afterwards."""
    parts = urlsplit(imap_url)
    box = MailBoxUnencrypted(parts.hostname or "127.0.0.1", parts.port or 143)
    box.login(parts.username or "", parts.password or "")
    name = f"T{uuid7()[-12:]}"
    box.folder.create(name)
    box.folder.set(name)
    try:
        yield imap_url.rsplit("/", 1)[0] + f"/{name}", box
    finally:
        box.folder.set("INBOX")
        box.folder.delete(name)
        box.logout()


def unseen(box: BaseMailBox) -> int:
    """How many messages of the folder are unseen, as the server has them now."""
    box.client.noop()  # take in the flags another session (the poller) changed
    return len(box.uids(AND(seen=False)))


async def pipe(h: Harness, raw: bytes) -> intake.Outcome:
    """Deliver `raw` as `nixflow mail receive` and the IMAP poller do, then settle."""
    config = intake.config_from(h.nixflow.settings)
    outcome = await intake.deliver(h.nixflow.writer, parse(raw, own_domain=config.domain), config)
    await h.settle()
    return outcome


async def ticket_with_a_mailed_comment(h: Harness, smtp: SmtpServer) -> tuple[User, User, int, EmailMessage]:
    """A requester's ticket watched by an agent, whose public comment was mailed to the requester (returned)."""
    agent = await h.user("agent", name="Ana Agent")
    requester = await h.user("requester", email="rita@customer.test")
    made = await h.client.post("/api/tickets", json={"title": "Printer jams"}, headers=requester.headers)
    ticket_id = int(made.json()["id"])
    watched = await h.client.post(
        f"/api/tickets/{ticket_id}/watchers", json={"user_id": agent.id}, headers=agent.headers
    )
    assert watched.status_code == 201, watched.text
    await h.settle()
    said = await h.client.post(f"/api/tickets/{ticket_id}/comments", json={"body": "On it"}, headers=agent.headers)
    assert said.status_code == 201, said.text
    [mail] = await asyncio.to_thread(smtp.inbox.wait_for, 1, address=requester.email, timeout=20)
    return agent, requester, ticket_id, mail
