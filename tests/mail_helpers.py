"""Mail in meets mail out: deliver a raw mail through the intake, and a ticket whose comment was mailed."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

from nixflow.email_in import intake
from nixflow.email_in.parse import parse
from tests.conftest import Harness, User
from tests.smtp_server import SmtpServer


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
