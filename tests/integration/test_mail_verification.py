"""Nobody writes as anyone by mail (a real SMTP server, aiosmtpd, records what NixFlow sends), in both modes: a
reply proves its sender or is held for an agent, an internal note stays internal, only real bounces count."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select
from tests import mail_corpus as corpus
from tests.conftest import Harness, User, mailing, start
from tests.mail_helpers import pipe, ticket_with_a_mailed_comment
from tests.smtp_server import SmtpServer

from nixflow.config import Settings
from nixflow.store.tables import email_bounces

TRUSTED = "mx.example.com"


@pytest.fixture
async def desk(settings: Settings, smtp: SmtpServer) -> AsyncIterator[Harness]:
    trusting = mailing(settings, smtp, delay=0.2).model_copy(update={"mail_trusted_authserv_id": TRUSTED})
    async for h in start(trusting):
        yield h


async def mails_to(smtp: SmtpServer, address: str, count: int) -> list[EmailMessage]:
    got = await asyncio.to_thread(smtp.inbox.wait_for, count, address=address, timeout=20)
    assert len(got) >= count, [m["Subject"] for m in got]
    return got


def page_cookie(user: User) -> dict[str, str]:
    return {"Cookie": f"nixflow_session={user.token}"}


async def comments(h: Harness, user: User, ticket_id: int) -> list[dict[str, Any]]:
    listed = await h.client.get(f"/api/tickets/{ticket_id}/comments", headers=user.headers)
    assert listed.status_code == 200, listed.text
    return list(listed.json())


async def test_a_forged_agent_mail_is_held_never_a_comment_never_mailed(desk: Harness, smtp: SmtpServer) -> None:
    h = desk
    agent, requester, ticket_id, _mail = await ticket_with_a_mailed_comment(h, smtp)
    forged = corpus.plain(
        sender=f"Ana Agent <{agent.email}>",
        subject=f"Re: [#{ticket_id}] Printer jams",
        body="Please confirm your password at https://evil.test/login",
        message_id="<forged-1@evil.test>",
    )
    held = await pipe(h, forged)
    assert (held.outcome, held.ticket_id) == ("held", ticket_id)
    assert [c["body"] for c in await comments(h, requester, ticket_id)] == ["On it"]
    note = (await comments(h, agent, ticket_id))[-1]
    assert note["id"] == held.comment_id and note["internal"] is True and note["unverified"] == "held"
    [unverified] = await h.events(type="email.unverified")
    assert unverified["data"]["comment_id"] == held.comment_id and unverified["data"]["sender_id"] == agent.id
    assert held.comment_id not in [e["data"]["comment_id"] for e in await h.events(type="ticket.commented")]
    # A later public comment reaches the requester: it is the only mail after the first, the forged one never went.
    later = await h.client.post(f"/api/tickets/{ticket_id}/comments", json={"body": "Fixed"}, headers=agent.headers)
    assert later.status_code == 201
    told = await mails_to(smtp, requester.email, 2)
    await h.settle()
    assert len(smtp.inbox.to(requester.email)) == 2 and "Fixed" in told[1].get_body().get_content()  # type: ignore[union-attr]
    assert not any("evil.test" in str(m) for m in smtp.inbox.messages)
    # The ticket page shows agents the held note with its two buttons; the requester sees none of it.
    url = f"/api/tickets/{ticket_id}/comments/{held.comment_id}"
    agents_page = (await h.client.get(f"/tickets/{ticket_id}", headers=page_cookie(agent))).text
    assert "unverified sender" in agents_page and f'data-api="{url}/publish"' in agents_page
    assert f'data-api="{url}/discard"' in agents_page
    requesters_page = (await h.client.get(f"/tickets/{ticket_id}", headers=page_cookie(requester))).text
    assert "evil.test" not in requesters_page and "/publish" not in requesters_page
    # The agent discards it: it leaves the conversation, and it cannot be decided twice.
    assert (await h.client.post(f"{url}/publish", headers=requester.headers)).status_code in (403, 404)
    assert (await h.client.post(f"{url}/discard", headers=agent.headers)).status_code == 204
    assert held.comment_id not in [c["id"] for c in await comments(h, agent, ticket_id)]
    assert (await h.client.post(f"{url}/publish", headers=agent.headers)).status_code == 409
    [discarded] = await h.events(type="email.unverified_discarded")
    assert discarded["data"]["by_id"] == agent.id


async def test_a_held_mail_published_becomes_the_senders_comment_and_is_mailed(desk: Harness, smtp: SmtpServer) -> None:
    h = desk
    agent, requester, ticket_id, _mail = await ticket_with_a_mailed_comment(h, smtp)
    # The requester writes a new mail with the ticket's tag: nothing proves it is theirs.
    tagged = corpus.plain(sender=requester.email, subject=f"[#{ticket_id}] still jams", body="Still jams")
    held = await pipe(h, tagged)
    assert held.outcome == "held"
    assert smtp.inbox.to(agent.email) == []
    published = await h.client.post(
        f"/api/tickets/{ticket_id}/comments/{held.comment_id}/publish", headers=agent.headers
    )
    assert published.status_code == 200, published.text
    comment = published.json()
    assert (comment["author_id"], comment["internal"], comment["source"]) == (requester.id, False, "email")
    assert [c["body"] for c in await comments(h, requester, ticket_id)] == ["On it", "Still jams"]
    assert [c["id"] for c in await comments(h, agent, ticket_id)][-1] == comment["id"]  # the held note left
    [told] = await mails_to(smtp, agent.email, 1)  # the watching agent is told, as of any comment of theirs
    assert "Still jams" in told.get_body().get_content()  # type: ignore[union-attr]
    [event] = await h.events(type="email.unverified_published")
    assert event["data"]["published_as"] == comment["id"]


async def test_a_reply_to_the_notification_proves_its_sender_a_forwarded_one_does_not(
    desk: Harness, smtp: SmtpServer
) -> None:
    h = desk
    agent, requester, ticket_id, mail = await ticket_with_a_mailed_comment(h, smtp)
    message_id = str(mail["Message-ID"])
    assert f"[#{ticket_id}]" in str(mail["Subject"]) and f"<ticket-{ticket_id}@example.com>" in str(mail["References"])
    assert str(mail["Return-Path"]).startswith("<help+bounce.")
    reply = corpus.gmail_reply(requester.email, message_id, "Printer jams", message_id="<r-1@c.test>")
    landed = await pipe(h, reply)
    assert (landed.outcome, landed.method) == ("comment", "in_reply_to")
    # The same Message-ID answered from another address (a forwarded mail): the token is not theirs.
    colleague = await h.user("requester", email="carl@customer.test")
    await h.client.post(f"/api/tickets/{ticket_id}/watchers", json={"user_id": colleague.id}, headers=agent.headers)
    forwarded = corpus.gmail_reply(colleague.email, message_id, "Printer jams", message_id="<c-1@c.test>")
    assert (await pipe(h, forwarded)).outcome == "held"


async def test_authentication_results_count_from_the_trusted_server_only(desk: Harness, smtp: SmtpServer) -> None:
    h = desk
    _agent, requester, ticket_id, _mail = await ticket_with_a_mailed_comment(h, smtp)
    passed = "dmarc=pass header.from=customer.test"

    def tagged(n: int) -> bytes:
        return corpus.plain(sender=requester.email, subject=f"[#{ticket_id}] ok", message_id=f"<ar-{n}@c.test>")

    assert (await pipe(h, corpus.authenticated(tagged(1), passed))).outcome == "comment"
    assert (await pipe(h, corpus.authenticated(tagged(2), passed, "mx.evil.test"))).outcome == "held"
    below = corpus.authenticated(corpus.authenticated(tagged(3), passed), "dmarc=none header.from=customer.test")
    assert (await pipe(h, below)).outcome == "held"


async def test_an_agents_reply_to_an_internal_note_stays_internal(desk: Harness, smtp: SmtpServer) -> None:
    h = desk
    agent, requester, ticket_id, _mail = await ticket_with_a_mailed_comment(h, smtp)
    colleague = await h.user("agent", name="Carl Colleague")
    note = await h.client.post(
        f"/api/tickets/{ticket_id}/comments", json={"body": "VIP, careful", "internal": True}, headers=colleague.headers
    )
    assert note.status_code == 201
    [internal_mail] = await mails_to(smtp, agent.email, 1)
    assert "Internal note" in str(internal_mail.get_body().get_content())  # type: ignore[union-attr]
    answer = corpus.gmail_reply(agent.email, str(internal_mail["Message-ID"]), "Printer jams", message_id="<a@x.test>")
    landed = await pipe(h, answer)
    assert landed.outcome == "comment"
    [reply] = [c for c in await comments(h, agent, ticket_id) if c["id"] == landed.comment_id]
    assert reply["internal"] is True and reply["author_id"] == agent.id
    assert landed.comment_id not in [c["id"] for c in await comments(h, requester, ticket_id)]
    # Marker: a public comment is the requester's next mail; the internal reply was never mailed to them.
    await h.client.post(f"/api/tickets/{ticket_id}/comments", json={"body": "Done"}, headers=colleague.headers)
    told = await mails_to(smtp, requester.email, 2)
    await h.settle()
    assert len(smtp.inbox.to(requester.email)) == 2
    assert "Thanks, that fixed it" not in str(told[1].get_body().get_content())  # type: ignore[union-attr]


async def bounces(h: Harness) -> list[str]:
    return list(await h.nixflow.db.read(lambda c: c.execute(select(email_bounces.c.address)).scalars().all()))


async def test_a_forged_bounce_marks_nobody_a_real_one_does(desk: Harness, smtp: SmtpServer) -> None:
    h = desk
    _agent, requester, _ticket_id, mail = await ticket_with_a_mailed_comment(h, smtp)
    forged = await pipe(h, corpus.dsn_bounce(requester.email, message_id="<dsn-forged@evil.test>"))
    assert forged.outcome == "bounce" and await bounces(h) == []
    assert await h.events(type="email.bounced") == []
    [suppressed] = await h.events(type="email.suppressed")
    assert requester.email in suppressed["data"]["reason"]
    # A report quoting the Message-ID NixFlow sent to that address is honoured.
    real = corpus.dsn_bounce(
        requester.email, message_id="<dsn-real@mx.test>", original_message_id=str(mail["Message-ID"])
    )
    assert (await pipe(h, real)).outcome == "bounce"
    assert await bounces(h) == [requester.email]
    [bounced] = await h.events(type="email.bounced")
    assert bounced["data"]["addresses"] == [requester.email]


async def test_an_agents_reply_to_a_public_notification_is_public_and_mailed(desk: Harness, smtp: SmtpServer) -> None:
    h = desk
    agent, requester, ticket_id, mail = await ticket_with_a_mailed_comment(h, smtp)
    answer = corpus.gmail_reply(requester.email, str(mail["Message-ID"]), "Printer jams", message_id="<r@c.test>")
    assert (await pipe(h, answer)).outcome == "comment"
    [told] = await mails_to(smtp, agent.email, 1)  # "New comment from Rita": public
    reply = corpus.gmail_reply(agent.email, str(told["Message-ID"]), "Printer jams", message_id="<a@x.test>")
    landed = await pipe(h, reply)
    [public] = [c for c in await comments(h, requester, ticket_id) if c["id"] == landed.comment_id]
    assert public["internal"] is False and public["author_id"] == agent.id
    [_first, second] = await mails_to(smtp, requester.email, 2)
    assert "Thanks, that fixed it" in str(second.get_body().get_content())  # type: ignore[union-attr]
