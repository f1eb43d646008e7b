"""The outage story through the real intake and a real SMTP server (aiosmtpd): a customer mails
twice about one outage and gets two tickets; an agent answers the second and merges it into the first; the
customer's reply to that answer lands on the survivor, not on the read-only pointer. Embedded mode only: the
intake and the pointer read the same on both databases, and test_ticket_relations.py runs the merge on both."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from tests import mail_corpus as corpus
from tests.conftest import Harness, mailing, start
from tests.mail_helpers import pipe
from tests.smtp_server import SmtpServer

from nixflow.config import Settings

CUSTOMER = "rita@customer.test"


@pytest.fixture
def mode() -> str:
    return "embedded"


@pytest.fixture
async def desk(settings: Settings, smtp: SmtpServer) -> AsyncIterator[Harness]:
    async for h in start(mailing(settings, smtp, delay=0.2)):
        yield h


async def test_a_reply_on_a_merged_tickets_thread_lands_on_the_survivor(desk: Harness, smtp: SmtpServer) -> None:
    h = desk
    agent = await h.user("agent", name="Ana Agent")
    first = await pipe(h, corpus.plain(f"Rita <{CUSTOMER}>", "VPN outage", "VPN is down.", "<o-1@customer.test>"))
    second = await pipe(h, corpus.plain(f"Rita <{CUSTOMER}>", "VPN still down", "Any news?", "<o-2@customer.test>"))
    assert (first.outcome, second.outcome) == ("ticket", "ticket") and first.ticket_id != second.ticket_id
    a, b = first.ticket_id, second.ticket_id
    answer = {"body": "We are on it."}
    said = await h.client.post(f"/api/tickets/{b}/comments", json=answer, headers=agent.headers)
    assert said.status_code == 201, said.text
    [told] = await asyncio.to_thread(smtp.inbox.wait_for, 1, address=CUSTOMER, timeout=20)
    merged = await h.client.post(f"/api/tickets/{b}/merge", json={"into": a}, headers=agent.headers)
    assert merged.status_code == 200, merged.text
    await h.settle()

    reply = corpus.gmail_reply(CUSTOMER, str(told["Message-ID"]), "VPN still down", message_id="<o-3@customer.test>")
    landed = await pipe(h, reply)
    assert (landed.outcome, landed.ticket_id, landed.method) == ("comment", a, "in_reply_to")
    said_on_a = (await h.client.get(f"/api/tickets/{a}/comments", headers=agent.headers)).json()
    bodies = [c["body"] for c in said_on_a]
    assert bodies == ["We are on it.", f"Merged from #{b} “VPN still down”:\n\nAny news?", "Thanks, that fixed it!"]
    assert (await h.client.get(f"/api/tickets/{b}/comments", headers=agent.headers)).json() == []
    [threaded] = [e for e in await h.events(type="email.threaded") if e["data"]["comment_id"] is not None]
    assert threaded["data"]["ticket_id"] == a
