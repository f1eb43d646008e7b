"""A reply by mail moves the ticket as a reply on the web does, through both ways mail comes in: `nixflow mail
receive` as an MTA runs it (a subprocess), and the IMAP poller on a real mailbox (Dovecot), in both modes. A
watcher's reply to a resolved ticket reopens it (they may write on it, not move it: the system moves it for the
reply); the requester's reply to a pending ticket opens it; an auto-reply changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from imap_tools import BaseMailBox
from tests import mail_corpus as corpus
from tests.cli_helpers import mail_receive
from tests.conftest import Harness, User, start
from tests.integration import test_mailbox as imap

from nixflow.config import Settings
from nixflow.email_in import intake
from nixflow.email_in.mailbox import MailboxPoller

TRUSTED = "mx.example.com"
folder = imap.folder  # a folder of this test's own in the Dovecot mailbox


@pytest.fixture
async def desk(settings: Settings) -> AsyncIterator[Harness]:
    # Replies here prove their sender through the receiving server (mail trust is tested in test_mail_verification).
    trusted = {"mail_from": "NixFlow <help@example.com>", "mail_trusted_authserv_id": TRUSTED}
    async for h in start(settings.model_copy(update=trusted)):
        yield h


async def _ticket(h: Harness, status: str) -> tuple[User, User, int]:
    """A ticket of rita@, watched by wendy@, opened by an agent, then moved to `status`."""
    agent = await h.user("agent")
    requester = await h.user("requester", email="rita@customer.test")
    watcher = await h.user("requester", email="wendy@customer.test")
    made = await h.client.post("/api/tickets", json={"title": "Printer jams"}, headers=requester.headers)
    ticket_id = int(made.json()["id"])
    url = f"/api/tickets/{ticket_id}"
    watched = await h.client.post(f"{url}/watchers", json={"user_id": watcher.id}, headers=agent.headers)
    assert watched.status_code == 201, watched.text
    for step in ("open", status):  # opened by hand first: the same steps work on the stiffer workflow of before
        moved = await h.client.post(f"{url}/transition", json={"status": step}, headers=agent.headers)
        assert moved.status_code == 200, moved.text
    return agent, watcher, ticket_id


def _reply(sender: str, ticket_id: int, message_id: str, **headers: str) -> bytes:
    subject = f"Re: [#{ticket_id}] Printer jams"
    raw = corpus.plain(sender=sender, subject=subject, body="It jams again.", message_id=message_id, **headers)
    return corpus.authenticated(raw, f"dmarc=pass header.from={sender.rpartition('@')[2]}", TRUSTED)


def _out_of_office(sender: str, ticket_id: int, message_id: str) -> bytes:
    return _reply(sender, ticket_id, message_id, Auto_Submitted="auto-replied")


async def _pipe(h: Harness, tmp_path: Path, raw: bytes) -> str:
    """`nixflow mail receive` with `raw` on standard input, on the desk's database; what it printed."""
    env = {"NIXFLOW_SECRET_KEY": "test-secret-key", "NIXFLOW_MAIL_TRUSTED_AUTHSERV_ID": TRUSTED}
    done = await asyncio.to_thread(mail_receive, tmp_path, h.nixflow.settings.database_url, raw, env)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode()


async def _status(h: Harness, agent: User, ticket_id: int) -> str:
    return str((await h.client.get(f"/api/tickets/{ticket_id}", headers=agent.headers)).json()["status"])


async def _reopened_by(h: Harness, ticket_id: int, who: User) -> dict[str, Any]:
    [reopened] = await h.events(type="ticket.reopened", aggregate_id=str(ticket_id))
    commented = [e for e in await h.events(type="ticket.commented") if e["data"]["author_id"] == who.id]
    assert reopened["metadata"]["causation_id"] == commented[-1]["event_id"]
    assert reopened["data"]["by_id"] == who.id and reopened["metadata"]["source"] == "email"
    return reopened


async def test_a_watchers_piped_reply_reopens_a_resolved_ticket(desk: Harness, tmp_path: Path) -> None:
    h = desk
    agent, watcher, ticket_id = await _ticket(h, "resolved")
    printed = await _pipe(h, tmp_path, _out_of_office(watcher.email, ticket_id, "<ooo-w@c.test>"))
    assert f"comment on ticket {ticket_id}" in printed
    assert await _status(h, agent, ticket_id) == "resolved"  # an automatic mail is stored and changes nothing
    printed = await _pipe(h, tmp_path, _reply(watcher.email, ticket_id, "<w-1@c.test>"))
    assert f"comment on ticket {ticket_id}" in printed
    assert await _status(h, agent, ticket_id) == "open"
    await _reopened_by(h, ticket_id, watcher)


async def test_the_requesters_piped_reply_opens_a_pending_ticket(desk: Harness, tmp_path: Path) -> None:
    h = desk
    agent, _watcher, ticket_id = await _ticket(h, "pending")
    await _pipe(h, tmp_path, _out_of_office("rita@customer.test", ticket_id, "<ooo-r@c.test>"))
    assert await _status(h, agent, ticket_id) == "pending"
    await _pipe(h, tmp_path, _reply("rita@customer.test", ticket_id, "<r-1@c.test>"))
    shown = (await h.client.get(f"/api/tickets/{ticket_id}", headers=agent.headers)).json()
    assert shown["status"] == "open" and shown["sla"]["paused"] is False
    [resumed] = await h.events(type="sla.resumed", aggregate_id=str(ticket_id))
    assert resumed["metadata"]["source"] == "email"


async def test_a_watchers_reply_from_the_mailbox_reopens_a_resolved_ticket(
    desk: Harness, folder: tuple[str, BaseMailBox]
) -> None:
    h = desk
    url, box = folder
    agent, watcher, ticket_id = await _ticket(h, "resolved")
    box.append(_reply(watcher.email, ticket_id, "<w-imap@c.test>"), box.folder.get(), dt=None, flag_set=())
    poller = MailboxPoller(
        url=url, writer=h.nixflow.writer, config=intake.config_from(h.nixflow.settings), poll_seconds=1
    )
    try:
        assert await poller.poll_once() == 1
    finally:
        poller._close()
    assert await _status(h, agent, ticket_id) == "open"
    await _reopened_by(h, ticket_id, watcher)
