"""Mail in meets mail out (a real SMTP server, aiosmtpd), in both modes: a reply to a notification lands on its
ticket, an auto-reply is never answered, a bounce stops the mail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from email.message import EmailMessage

import pytest
from tests import mail_corpus as corpus
from tests.conftest import Harness, mailing, start
from tests.mail_helpers import pipe, ticket_with_a_mailed_comment
from tests.mail_marker import mail_before_a_marker
from tests.smtp_server import SmtpServer, addressed

from nixflow.config import Settings

DELAY = 0.5


@pytest.fixture
async def desk(settings: Settings, smtp: SmtpServer) -> AsyncIterator[Harness]:
    async for h in start(mailing(settings, smtp, delay=DELAY)):
        yield h


async def _sent_so_far(h: Harness, smtp: SmtpServer) -> list[EmailMessage]:
    """Every mail the changes so far cause, once a later marker mail arrived (mail that should not go would be here)."""
    await h.settle()
    return await mail_before_a_marker(h, smtp)


async def test_a_reply_to_a_notification_lands_on_its_ticket(desk: Harness, smtp: SmtpServer) -> None:
    h = desk
    agent, requester, ticket_id, mail = await ticket_with_a_mailed_comment(h, smtp)
    assert mail["X-NixFlow-Loop"] == "example.com"
    reply = corpus.gmail_reply(requester.email, str(mail["Message-ID"]), "Printer jams", message_id="<r-1@c.test>")
    landed = await pipe(h, reply)
    assert (landed.outcome, landed.ticket_id, landed.method) == ("comment", ticket_id, "in_reply_to")
    said = (await h.client.get(f"/api/tickets/{ticket_id}/comments", headers=requester.headers)).json()
    assert said[-1]["body"] == "Thanks, that fixed it!" and said[-1]["author_id"] == requester.id
    assert said[-1]["source"] == "email"
    # The watching agent is told by mail, as for any comment of the requester; the requester is not told of their own.
    await asyncio.to_thread(smtp.inbox.wait_for, 1, address=agent.email, timeout=20)
    assert addressed(await _sent_so_far(h, smtp), requester.email) == [mail]


async def test_an_auto_reply_is_stored_but_never_mailed_about(desk: Harness, smtp: SmtpServer) -> None:
    h = desk
    agent, requester, ticket_id, mail = await ticket_with_a_mailed_comment(h, smtp)
    before = await _sent_so_far(h, smtp)
    ooo = corpus.out_of_office(requester.email, str(mail["Message-ID"]), str(mail["Subject"]))
    stored = await pipe(h, ooo)
    assert stored.outcome == "comment" and stored.ticket_id == ticket_id
    assert await _sent_so_far(h, smtp) == before  # nobody is mailed about an auto-reply: no loop can start
    # A person's reply the same way is mailed about: the silence above is the auto-reply's.
    reply = corpus.gmail_reply(requester.email, str(mail["Message-ID"]), "Printer jams", message_id="<r-2@c.test>")
    await pipe(h, reply)
    after = await _sent_so_far(h, smtp)
    assert after[: len(before)] == before
    assert [m["To"].addresses[0].addr_spec for m in after[len(before) :]] == [agent.email]


async def test_a_bounce_stops_mail_to_that_address(desk: Harness, smtp: SmtpServer) -> None:
    h = desk
    agent, requester, ticket_id, mail = await ticket_with_a_mailed_comment(h, smtp)
    # The report goes back to the envelope sender of the mail that failed (VERP: it carries the recipient's token).
    report = corpus.dsn_bounce(requester.email, to=str(mail["Return-Path"]).strip("<>"))
    assert (await pipe(h, report)).outcome == "bounce"
    said = await h.client.post(f"/api/tickets/{ticket_id}/comments", json={"body": "Fixed?"}, headers=agent.headers)
    assert said.status_code == 201
    assert addressed(await _sent_so_far(h, smtp), requester.email) == [mail]
    failed = await h.events(type="notification.failed")
    assert [e["data"]["error"] for e in failed] == ["the recipient's address bounces"]


async def test_the_requesters_reply_reopens_a_resolved_ticket_an_auto_reply_does_not(
    desk: Harness, smtp: SmtpServer
) -> None:
    h = desk
    agent, requester, ticket_id, mail = await ticket_with_a_mailed_comment(h, smtp)

    async def resolve(*path: str) -> None:
        for status in path:
            moved = await h.client.post(
                f"/api/tickets/{ticket_id}/transition", json={"status": status}, headers=agent.headers
            )
            assert moved.status_code == 200, moved.text
        await h.settle()

    async def status() -> str:
        found = await h.client.get(f"/api/tickets/{ticket_id}", headers=agent.headers)
        return str(found.json()["status"])

    await resolve("resolved")  # the agent's reply ("On it") opened it
    ooo = corpus.out_of_office(requester.email, str(mail["Message-ID"]), str(mail["Subject"]))
    assert (await pipe(h, ooo)).ticket_id == ticket_id
    assert await status() == "resolved"  # an automatic mail is stored, and changes nothing

    reply = corpus.gmail_reply(requester.email, str(mail["Message-ID"]), "Printer jams", message_id="<r-2@c.test>")
    landed = await pipe(h, reply)
    assert (landed.outcome, landed.ticket_id) == ("comment", ticket_id)
    assert await status() == "open"
    [reopened] = await h.events(type="ticket.reopened", aggregate_id=str(ticket_id))
    assert reopened["metadata"]["actor_id"] == requester.id and reopened["metadata"]["source"] == "email"

    await resolve("resolved")
    # The agent answers the mail NixFlow sent them about the requester's reply (a public comment).
    told = (await asyncio.to_thread(smtp.inbox.wait_for, 1, address=agent.email, timeout=20))[-1]
    agents_mail = corpus.gmail_reply(agent.email, str(told["Message-ID"]), "Printer jams", message_id="<a-1@c.test>")
    assert (await pipe(h, agents_mail)).outcome == "comment"
    assert await status() == "resolved"  # staff answering by mail decide the status on the ticket
