"""Mail in, in both modes: the corpus through the intake (the code `nixflow mail receive` and the IMAP poller
share), threading, senders, loops, bounces, throttling and files. Replies here prove their sender by the trusted
receiving server's Authentication-Results (what proves a sender: test_mail_verification.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from tests import mail_corpus as corpus
from tests.conftest import Harness, User, start

from nixflow.config import Settings
from nixflow.crypto import keyring
from nixflow.email_in import intake
from nixflow.email_in.intake import Outcome
from nixflow.email_in.parse import parse
from nixflow.mailwire import tokens as mail_tokens
from nixflow.store.tables import email_bounces, inbound_mail, users


@pytest.fixture
async def desk(settings: Settings) -> AsyncIterator[Harness]:
    configured = settings.model_copy(
        update={
            "mail_from": "NixFlow <help@example.com>",
            "mail_max_per_hour": 5,
            "mail_trusted_authserv_id": "mx.example.com",
        }
    )
    async for h in start(configured):
        yield h


async def pipe(h: Harness, raw: bytes) -> Outcome:
    config = intake.config_from(h.nixflow.settings)
    outcome = await intake.deliver(h.nixflow.writer, parse(raw, own_domain=config.domain), config)
    await h.settle()
    return outcome


async def comments(h: Harness, user: User, ticket_id: int) -> list[dict[str, Any]]:
    listed = await h.client.get(f"/api/tickets/{ticket_id}/comments", headers=user.headers)
    assert listed.status_code == 200, listed.text
    return list(listed.json())


def dmarc(raw: bytes, domain: str = "customer.test") -> bytes:
    """`raw` as the trusted receiving server delivers it, DMARC passed for `domain`."""
    return corpus.authenticated(raw, f"dmarc=pass header.from={domain}")


async def one(h: Harness, event_type: str) -> dict[str, Any]:
    [event] = await h.events(type=event_type)
    return event


async def test_a_mail_from_a_stranger_opens_a_ticket_and_makes_them_a_requester(desk: Harness) -> None:
    h = desk
    admin = await h.user("admin")
    opened = await pipe(h, corpus.plain())
    assert opened.outcome == "ticket" and opened.method == "new" and opened.ticket_id is not None
    ticket = (await h.client.get(f"/api/tickets/{opened.ticket_id}", headers=admin.headers)).json()
    assert ticket["title"] == "Printer on floor 2 is jammed" and "error E13" in ticket["description"]
    person = (await h.client.get(f"/api/users/{ticket['requester_id']}", headers=admin.headers)).json()
    assert person["email"] == "pat@customer.test" and person["role"] == "requester" and person["name"] == "Pat Doe"
    hashed = await h.nixflow.db.read(
        lambda c: c.execute(select(users.c.password_hash).where(users.c.email == "pat@customer.test")).scalar()
    )
    assert hashed is None  # no password: a reset link sets one
    received, threaded = await one(h, "email.received"), await one(h, "email.threaded")
    assert received["data"]["sender"] == "pat@customer.test" and received["data"]["auto"] is None
    assert threaded["data"]["method"] == "new" and threaded["data"]["ticket_id"] == opened.ticket_id
    created = await one(h, "ticket.created")
    assert created["metadata"]["causation_id"] == received["event_id"]
    assert created["metadata"]["actor_id"] == ticket["requester_id"] and created["metadata"]["source"] == "email"


async def test_the_same_message_twice_is_stored_once(desk: Harness) -> None:
    h = desk
    assert (await pipe(h, corpus.plain())).outcome == "ticket"
    assert (await pipe(h, corpus.plain())).outcome == "duplicate"
    nameless = corpus.plain(message_id=None, body="no id here")
    assert (await pipe(h, nameless)).outcome == "ticket"
    assert (await pipe(h, nameless)).outcome == "duplicate"
    assert len(await h.events(type="ticket.created")) == 2
    assert len(await h.events(type="email.received")) == 2


async def test_replies_thread_by_subject_tag_in_reply_to_and_references(desk: Harness) -> None:
    h = desk
    agent = await h.user("agent", name="Ana Agent")
    opened = await pipe(h, corpus.plain())
    ticket_id = opened.ticket_id
    assert ticket_id is not None
    subject = f"[#{ticket_id}] Printer on floor 2 is jammed"
    tagged = await pipe(h, dmarc(corpus.outlook_reply("pat@customer.test", subject)))
    assert (tagged.outcome, tagged.ticket_id, tagged.method) == ("comment", ticket_id, "subject_tag")
    # In-Reply-To the mail that opened the ticket, no tag in the subject.
    gmail = await pipe(h, dmarc(corpus.gmail_reply("pat@customer.test", "<plain-1@customer.test>", "Printer")))
    assert (gmail.ticket_id, gmail.method) == (ticket_id, "in_reply_to")
    # Only References, naming a mail NixFlow sent about the ticket (its thread id): the agent answers.
    by_agent = corpus.plain(
        sender=agent.email,
        subject="Re: Printer",
        body="Toner replaced.\n\nOn Mon, Jan 7, 2030 at 9:00 AM Pat wrote:\n> broken",
        message_id="<agent-1@example.org>",
        References=f"<unknown@elsewhere.test> <ticket-{ticket_id}@example.com>",
    )
    answered = await pipe(h, dmarc(by_agent, "example.com"))
    assert (answered.ticket_id, answered.method) == (ticket_id, "references")
    said = await comments(h, agent, ticket_id)
    assert [c["body"] for c in said] == [
        "It is still broken after the restart.",
        "Thanks, that fixed it!",
        "Toner replaced.",
    ]
    # The agent's mail answers no public notification of theirs: it is an internal note, never mailed out.
    assert {c["source"] for c in said} == {"email"} and [c["internal"] for c in said] == [False, False, True]
    assert said[2]["author_id"] == agent.id and said[0]["author_id"] == said[1]["author_id"] != agent.id
    methods = [e["data"]["method"] for e in await h.events(type="email.threaded")]
    assert methods == ["new", "subject_tag", "in_reply_to", "references"]


async def test_a_stranger_cannot_write_on_someone_elses_ticket_by_its_tag(desk: Harness) -> None:
    h = desk
    opened = await pipe(h, corpus.plain())
    intruder = corpus.plain(
        sender="mallory@evil.test", subject=f"Re: [#{opened.ticket_id}] hi", message_id="<m-1@evil.test>"
    )
    other = await pipe(h, intruder)
    assert other.method == "new" and other.ticket_id != opened.ticket_id


async def test_a_watcher_replies_with_a_public_comment(desk: Harness) -> None:
    h = desk
    agent = await h.user("agent")
    watcher = await h.user("requester", email="wendy@customer.test")
    opened = await pipe(h, corpus.plain())
    added = await h.client.post(
        f"/api/tickets/{opened.ticket_id}/watchers", json={"user_id": watcher.id}, headers=agent.headers
    )
    assert added.status_code == 201, added.text
    reply = corpus.plain(
        sender="Wendy <wendy@customer.test>", subject=f"Re: [#{opened.ticket_id}] x", message_id="<w-1@c.test>"
    )
    assert (await pipe(h, dmarc(reply))).outcome == "comment"
    [said] = await comments(h, agent, opened.ticket_id or 0)
    assert said["author_id"] == watcher.id and said["internal"] is False


async def test_html_mail_becomes_text_and_its_inline_image_an_attachment(desk: Harness) -> None:
    h = desk
    agent = await h.user("agent")
    opened = await pipe(h, corpus.html_only())
    ticket = (await h.client.get(f"/api/tickets/{opened.ticket_id}", headers=agent.headers)).json()
    assert "black screen" in ticket["description"] and "<" not in ticket["description"]
    [image] = (await h.client.get(f"/api/tickets/{opened.ticket_id}/attachments", headers=agent.headers)).json()
    assert image["content_type"] == "image/png" and image["filename"] == "logo.png"
    stored = await h.nixflow.db.read(
        lambda c: c.execute(select(inbound_mail.c.html).where(inbound_mail.c.id == opened.inbound_id)).scalar()
    )
    assert f'src="/api/attachments/{image["id"]}"' in stored and "<script" not in stored and "onclick" not in stored


async def test_an_attachment_is_kept_with_the_type_its_bytes_say(desk: Harness) -> None:
    h = desk
    agent = await h.user("agent")
    opened = await pipe(h, corpus.with_attachment())
    [file] = (await h.client.get(f"/api/tickets/{opened.ticket_id}/attachments", headers=agent.headers)).json()
    assert file["content_type"] == "application/pdf" and file["size"] == len(corpus.PDF)
    got = await h.client.get(f"/api/attachments/{file['id']}", headers=agent.headers)
    assert got.content == corpus.PDF
    added = await one(h, "ticket.attachment_added")
    assert added["data"]["attachment_id"] == file["id"] and added["data"]["internal"] is False


async def test_a_30_mb_message_opens_its_ticket_without_the_oversized_file(desk: Harness) -> None:
    h = desk
    agent = await h.user("agent")
    opened = await pipe(h, corpus.huge(30 * 1024 * 1024))
    assert opened.outcome == "ticket"
    ticket = (await h.client.get(f"/api/tickets/{opened.ticket_id}", headers=agent.headers)).json()
    assert "disk.img was not kept" in ticket["description"]
    assert (await h.client.get(f"/api/tickets/{opened.ticket_id}/attachments", headers=agent.headers)).json() == []
    assert (await one(h, "email.threaded"))["data"]["skipped_files"] == ["disk.img"]


async def test_malformed_headers_still_open_a_ticket(desk: Harness) -> None:
    opened = await pipe(desk, corpus.malformed_headers())
    assert opened.outcome == "ticket"


async def test_an_auto_reply_on_a_ticket_is_stored_and_one_on_nothing_is_dropped(desk: Harness) -> None:
    h = desk
    agent = await h.user("agent")
    opened = await pipe(h, corpus.plain())
    ooo = corpus.out_of_office("pat@customer.test", f"<ticket-{opened.ticket_id}@example.com>", "[#x] hi")
    stored = await pipe(h, dmarc(ooo))
    assert stored.outcome == "comment" and stored.ticket_id == opened.ticket_id
    suppressed = await one(h, "email.suppressed")
    assert suppressed["data"]["action"] == "stored" and "auto-replied" in suppressed["data"]["reason"]
    stray = corpus.out_of_office("pat@customer.test", "<nothing@nowhere.test>", "hello", message_id="<ooo-2@c.test>")
    dropped = await pipe(h, stray)
    assert dropped.outcome == "dropped" and dropped.ticket_id is None
    unknown = corpus.out_of_office("bot@robots.test", "<n@x.test>", "hello", message_id="<ooo-3@robots.test>")
    assert (await pipe(h, unknown)).outcome == "dropped"
    people = (await h.client.get("/api/users", headers=(await h.user("admin")).headers)).json()
    assert "bot@robots.test" not in {p["email"] for p in people}  # no account for an auto-responder
    assert len(await comments(h, agent, opened.ticket_id or 0)) == 1


async def test_nixflow_own_mail_coming_back_is_dropped(desk: Harness) -> None:
    looped = corpus.plain(sender="help@example.com", message_id="<nixflow.1@example.com>", X_NixFlow_Loop="x")
    dropped = await pipe(desk, looped)
    assert dropped.outcome == "dropped" and await desk.events(type="ticket.created") == []


async def test_a_bounce_marks_the_address_and_creates_nothing(desk: Harness) -> None:
    h = desk
    # The report quotes the Message-ID of a mail NixFlow sent to the address (it carries that address's token).
    keys = keyring(h.nixflow.settings)
    sent = mail_tokens.message_id(keys, notification_id=7, address="gone@customer.test", domain="example.com")
    bounced = await pipe(h, corpus.dsn_bounce("gone@customer.test", original_message_id=sent))
    assert bounced.outcome == "bounce"
    assert (await one(h, "email.bounced"))["data"]["addresses"] == ["gone@customer.test"]
    marked = await h.nixflow.db.read(lambda c: c.execute(select(email_bounces.c.address)).scalars().all())
    assert marked == ["gone@customer.test"]
    assert await h.events(type="ticket.created") == []
    # Mail from the address again proves it works: it is no longer bouncing.
    await pipe(h, corpus.plain(sender="gone@customer.test", message_id="<back@customer.test>"))
    assert await h.nixflow.db.read(lambda c: c.execute(select(email_bounces.c.address)).scalars().all()) == []


async def test_a_sender_over_the_hourly_limit_is_throttled(desk: Harness) -> None:
    h = desk
    outcomes = [
        (await pipe(h, corpus.plain(message_id=f"<flood-{n}@customer.test>", subject=f"n{n}"))).outcome
        for n in range(7)
    ]
    assert outcomes == ["ticket"] * 5 + ["dropped"] * 2
    reasons = [e["data"]["reason"] for e in await h.events(type="email.suppressed")]
    assert len(reasons) == 2 and all(r.startswith("throttled") for r in reasons)


async def test_allowed_domains_keep_unknown_senders_out(settings: Settings) -> None:
    configured = settings.model_copy(
        update={"mail_from": "NixFlow <help@example.com>", "mail_allow_domains": "customer.test, example.org"}
    )
    async for h in start(configured):
        known = await h.user("requester", email="known@elsewhere.test")
        assert (await pipe(h, corpus.plain())).outcome == "ticket"
        stranger = corpus.plain(sender="x@elsewhere.test", message_id="<x@elsewhere.test>")
        refused = await pipe(h, stranger)
        assert refused.outcome == "dropped" and "NIXFLOW_MAIL_ALLOW_DOMAINS" in (refused.reason or "")
        allowed = corpus.plain(sender=known.email, message_id="<k@elsewhere.test>")
        assert (await pipe(h, allowed)).outcome == "ticket"
