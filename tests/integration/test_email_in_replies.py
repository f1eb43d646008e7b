"""Mail in meets mail out (a real SMTP server, aiosmtpd), in both modes: a reply to a notification lands on its
ticket, an auto-reply is never answered, a bounce stops the mail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from email.message import EmailMessage

import pytest
from tests import mail_corpus as corpus
from tests.conftest import Harness, User, mailing, start
from tests.smtp_server import SmtpServer

from nixflow.config import Settings
from nixflow.email_in import intake
from nixflow.email_in.parse import parse

DELAY = 0.5


@pytest.fixture
async def desk(settings: Settings, smtp: SmtpServer) -> AsyncIterator[Harness]:
    async for h in start(mailing(settings, smtp, delay=DELAY)):
        yield h


async def pipe(h: Harness, raw: bytes) -> intake.Outcome:
    config = intake.config_from(h.nixflow.settings)
    outcome = await intake.deliver(h.nixflow.writer, parse(raw, own_domain=config.domain), config)
    await h.settle()
    return outcome


async def _ticket_with_a_mailed_comment(h: Harness, smtp: SmtpServer) -> tuple[User, User, int, EmailMessage]:
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


async def _quiet(h: Harness) -> None:
    await h.settle()
    await asyncio.sleep(DELAY + 1.0)
    await h.settle()


async def test_a_reply_to_a_notification_lands_on_its_ticket(desk: Harness, smtp: SmtpServer) -> None:
    h = desk
    agent, requester, ticket_id, mail = await _ticket_with_a_mailed_comment(h, smtp)
    assert mail["X-NixFlow-Loop"] == "example.com"
    reply = corpus.gmail_reply(requester.email, str(mail["Message-ID"]), "Printer jams", message_id="<r-1@c.test>")
    landed = await pipe(h, reply)
    assert (landed.outcome, landed.ticket_id, landed.method) == ("comment", ticket_id, "in_reply_to")
    said = (await h.client.get(f"/api/tickets/{ticket_id}/comments", headers=requester.headers)).json()
    assert said[-1]["body"] == "Thanks, that fixed it!" and said[-1]["author_id"] == requester.id
    assert said[-1]["source"] == "email"
    # The watching agent is told by mail, as for any comment of the requester; the requester is not told of their own.
    await asyncio.to_thread(smtp.inbox.wait_for, 1, address=agent.email, timeout=20)
    await _quiet(h)
    assert len(smtp.inbox.to(requester.email)) == 1


async def test_an_auto_reply_is_stored_but_never_mailed_about(desk: Harness, smtp: SmtpServer) -> None:
    h = desk
    agent, requester, ticket_id, mail = await _ticket_with_a_mailed_comment(h, smtp)
    await _quiet(h)
    before = len(smtp.inbox.messages)
    ooo = corpus.out_of_office(requester.email, str(mail["Message-ID"]), str(mail["Subject"]))
    stored = await pipe(h, ooo)
    assert stored.outcome == "comment" and stored.ticket_id == ticket_id
    await _quiet(h)
    assert len(smtp.inbox.messages) == before  # nobody is mailed about an auto-reply: no loop can start
    # A person's reply the same way is mailed about: the silence above is the auto-reply's.
    reply = corpus.gmail_reply(requester.email, str(mail["Message-ID"]), "Printer jams", message_id="<r-2@c.test>")
    await pipe(h, reply)
    await asyncio.to_thread(smtp.inbox.wait_for, before + 1, timeout=20)
    await _quiet(h)
    assert (
        len(smtp.inbox.messages) == before + 1 and smtp.inbox.messages[-1]["To"].addresses[0].addr_spec == agent.email
    )


async def test_a_bounce_stops_mail_to_that_address(desk: Harness, smtp: SmtpServer) -> None:
    h = desk
    agent, requester, ticket_id, _mail = await _ticket_with_a_mailed_comment(h, smtp)
    await _quiet(h)
    assert (await pipe(h, corpus.dsn_bounce(requester.email))).outcome == "bounce"
    said = await h.client.post(f"/api/tickets/{ticket_id}/comments", json={"body": "Fixed?"}, headers=agent.headers)
    assert said.status_code == 201
    await _quiet(h)
    await _quiet(h)
    assert len(smtp.inbox.to(requester.email)) == 1
    failed = await h.events(type="notification.failed")
    assert [e["data"]["error"] for e in failed] == ["the recipient's address bounces"]


async def test_the_requesters_reply_reopens_a_resolved_ticket_an_auto_reply_does_not(
    desk: Harness, smtp: SmtpServer
) -> None:
    h = desk
    agent, requester, ticket_id, mail = await _ticket_with_a_mailed_comment(h, smtp)

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
    agents_mail = corpus.gmail_reply(agent.email, str(mail["Message-ID"]), "Printer jams", message_id="<a-1@c.test>")
    assert (await pipe(h, agents_mail)).outcome == "comment"
    assert await status() == "resolved"  # staff answering by mail decide the status on the ticket
