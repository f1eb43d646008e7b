"""The intake: one parsed mail in, in one unit of work: stored once, then a new ticket, a comment, or nothing.

Every decision is an event: `email.received`, then `email.threaded` (with the method that matched) or
`email.suppressed` (why it is never answered), or `email.bounced`. The ticket and comment events a mail causes
carry the `email.received` event as their cause.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from nixflow.config import Settings
from nixflow.crypto import keyring
from nixflow.domain.envelope import EventContext, EventRecord
from nixflow.domain.values import AUTO_MAIL_SOURCE, Role
from nixflow.domain.visibility import may_see_ticket
from nixflow.email_in import held, threading, verify
from nixflow.email_in.parse import ParsedMail
from nixflow.ids import uuid7
from nixflow.mailwire.addresses import MailConfig
from nixflow.services import attachments, passwordless, tickets, users
from nixflow.services.users import Principal
from nixflow.store.db import Tx, insert_returning_id
from nixflow.store.tables import email_bounces, inbound_mail, ticket_watchers
from nixflow.store.writer import Writer

NO_TEXT = "(no text)"
TEXT_LIMIT = 20_000  # what services.tickets keeps of a description or a comment body
NOTES_LIMIT = 2_000  # NixFlow's own notes on one mail, at most: the mail's text gets the rest
NAME_SHOWN = 120  # characters of a file's name that a note shows
CUT = "\n\n[The text was cut here: the mail is longer than a ticket keeps. The whole message is stored.]"


@dataclass(frozen=True)
class IntakeConfig:
    """What the intake needs from the settings."""

    domain: str  # NixFlow's mail domain: its own Message-IDs and thread ids
    allowed_domains: frozenset[str] | None
    max_per_hour: int
    max_attachment_bytes: int
    trust: verify.Trust  # what proves a sender (see email_in/verify.py)


@dataclass(frozen=True)
class Outcome:
    """What became of a mail: `ticket`, `comment`, `held` (unverified sender), `dropped`, `bounce` or `duplicate`."""

    outcome: str
    inbound_id: int | None = None
    ticket_id: int | None = None
    comment_id: int | None = None
    method: str | None = None
    reason: str | None = None
    message_id: str | None = None


def already_stored(tx: Tx, message_id: str) -> int | None:
    found = tx.conn.execute(select(inbound_mail.c.id).where(inbound_mail.c.message_id == message_id)).scalar()
    return None if found is None else int(found)


def receive(tx: Tx, mail: ParsedMail, config: IntakeConfig) -> Outcome:
    """Store `mail` once (by Message-ID) and act on it."""
    if already_stored(tx, mail.message_id) is not None:
        return Outcome("duplicate")
    row = {
        "message_id": mail.message_id,
        "sender": mail.sender[: passwordless.ADDRESS_LIMIT],
        "subject": mail.subject[:300],
        "outcome": "received",
        "auto": mail.auto is not None,
        "raw": mail.raw,
        "received_at": tx.now,
    }
    inbound_id = insert_returning_id(tx.conn, insert(inbound_mail), row)
    ref = {"inbound_id": inbound_id, "message_id": mail.message_id}
    received = tx.emit(
        "email.received",
        aggregate_type="email",
        aggregate_id=inbound_id,
        data={**ref, "sender": mail.sender, "subject": mail.subject, "size": len(mail.raw), "auto": mail.auto},
    )
    outcome = _decide(tx, mail, config, ref, received)
    tx.conn.execute(
        update(inbound_mail)
        .where(inbound_mail.c.id == inbound_id)
        .values(
            outcome=outcome.outcome,
            ticket_id=outcome.ticket_id,
            comment_id=outcome.comment_id,
            method=outcome.method,
            reason=(outcome.reason or "")[:300] or None,
        )
    )
    return dataclasses.replace(outcome, inbound_id=inbound_id)


def _suppress(tx: Tx, mail: ParsedMail, ref: dict[str, Any], reason: str, ticket_id: int | None = None) -> None:
    tx.emit(
        "email.suppressed",
        aggregate_type="email",
        aggregate_id=ref["inbound_id"],
        data={
            **ref,
            "sender": mail.sender,
            "reason": reason,
            "action": "dropped" if ticket_id is None else "stored",
            "ticket_id": ticket_id,
        },
    )


def _drop(tx: Tx, mail: ParsedMail, ref: dict[str, Any], reason: str) -> Outcome:
    _suppress(tx, mail, ref, reason)
    return Outcome("dropped", reason=reason)


def _decide(tx: Tx, mail: ParsedMail, config: IntakeConfig, ref: dict[str, Any], received: EventRecord) -> Outcome:
    if mail.own:
        return _drop(tx, mail, ref, "NixFlow's own mail came back")
    if mail.bounced:
        _record_bounces(tx, mail, config, ref)
        return Outcome("bounce", reason="a delivery report")
    if _recent(tx, mail.sender) >= config.max_per_hour:
        return _drop(tx, mail, ref, f"throttled: over {config.max_per_hour} mails an hour from {mail.sender}")
    sender = _sender(tx, mail, config)
    if isinstance(sender, str):
        return _drop(tx, mail, ref, sender)
    if mail.auto is None:
        tx.conn.execute(email_bounces.delete().where(email_bounces.c.address == mail.sender))  # it works again
    source = AUTO_MAIL_SOURCE if mail.auto else "email"
    work = tx.child(tx.ctx.caused_by(received, source=source))
    work = tx.child(dataclasses.replace(work.ctx, actor_id=sender.id))
    match = _thread(tx, mail, config, sender)
    if match is None and mail.auto is not None:
        return _drop(tx, mail, ref, f"automatic mail ({mail.auto}) that answers no ticket")
    skipped = [p.filename for p in mail.attachments if len(p.data) > config.max_attachment_bytes]
    notes = [*(f"[{_shown(name)} was not kept: over the size limit]" for name in skipped), *mail.left_out]
    if match is None:
        title = mail.subject.strip()[:200] or "(no subject)"
        ticket = tickets.create(
            work, requester=sender, title=title, description=with_notes(mail.text, notes), channel="mail"
        )
        ticket_id, comment_id, method, matched, outcome = int(ticket["id"]), None, "new", None, "ticket"
    else:
        body = with_notes(mail.reply, notes) or NO_TEXT
        ticket_id, method, matched = match.ticket_id, match.method, match.matched
        comment_id, outcome = _reply(work, mail, config, sender, ticket_id, body, ref)
    html = _keep_files(work, mail, config, sender, ticket_id, comment_id)
    tx.conn.execute(update(inbound_mail).where(inbound_mail.c.id == ref["inbound_id"]).values(html=html))
    tx.emit(
        "email.threaded",
        aggregate_type="email",
        aggregate_id=ref["inbound_id"],
        data={
            **ref,
            "ticket_id": ticket_id,
            "comment_id": comment_id,
            "method": method,
            "matched": matched,
            "sender_id": sender.id,
            "skipped_files": skipped,
        },
    )
    if mail.auto is not None:
        _suppress(tx, mail, ref, f"automatic mail ({mail.auto}): stored, never answered", ticket_id)
    return Outcome(outcome, None, ticket_id, comment_id, method)


def _reply(
    tx: Tx, mail: ParsedMail, config: IntakeConfig, sender: Principal, ticket_id: int, body: str, ref: dict[str, Any]
) -> tuple[int, str]:
    """A reply on its ticket, and the outcome: `held` when the sender proved nothing, else `comment` (staff's is
    public only when it answers a public notification with its token: a reply to an internal note stays one)."""
    proof = verify.reply(tx.conn, mail, config.trust)
    if not proof.verified:
        why = "the sender proved nothing: no token NixFlow issued to them, no trusted Authentication-Results"
        return held.hold(tx, sender=sender, ticket_id=ticket_id, body=body, ref=ref, why=why), "held"
    internal = sender.is_staff and not proof.public
    comment = tickets.add_comment(
        tx, actor=sender, ticket_id=ticket_id, body=body, internal=internal, source="email", trusted=True
    )
    return int(comment["id"]), "comment"


def _shown(name: str) -> str:
    return name if len(name) <= NAME_SHOWN else name[: NAME_SHOWN - 1] + "…"


def with_notes(text: str, notes: list[str], limit: int = TEXT_LIMIT) -> str:
    """A mail's text and NixFlow's notes on it, within `limit` characters whatever the notes: the notes are held
    to NOTES_LIMIT (the rest counted), then the text is cut to what is left, saying so."""
    kept: list[str] = []
    used = 0
    for index, note in enumerate(notes):
        if used + len(note) + 2 > NOTES_LIMIT - 60:  # room for the line that counts the rest
            kept.append(f"[{len(notes) - index} more notes on this mail were left out]")
            break
        kept.append(note)
        used += len(note) + 2
    block = "".join(f"\n\n{note}" for note in kept)
    room = limit - len(block)
    if len(text) > room:
        text = text[: room - len(CUT)] + CUT
    return (text + block).strip()


def _recent(tx: Tx, sender: str) -> int:
    """How many mails this sender sent in the last hour (before this one)."""
    since = tx.now - timedelta(hours=1)
    count = tx.conn.execute(
        select(func.count())
        .select_from(inbound_mail)
        .where(inbound_mail.c.sender == sender, inbound_mail.c.received_at > since)
    ).scalar()
    return max(0, int(count or 0) - 1)


def _sender(tx: Tx, mail: ParsedMail, config: IntakeConfig) -> Principal | str:
    """The sender's account (an unknown sender becomes a requester without a password), or why there is none."""
    row = users.find_by_email(tx.conn, email=mail.sender)
    if row is not None:
        if not row.active or row.role == Role.SYSTEM.value:
            return f"the account of {mail.sender} is not active"
        return users.principal_of(row)
    if mail.auto is not None:
        return f"automatic mail ({mail.auto}) from an unknown sender"
    refused = passwordless.refusal(mail.sender, config.allowed_domains)
    if refused is not None:
        return f"unknown sender: {refused}"
    return passwordless.create(tx, email=mail.sender, name=mail.sender_name)


def _may_write(tx: Tx, sender: Principal, ticket: dict[str, Any]) -> bool:
    """Staff, the requester, the colleagues it is shared with and its watchers (whoever may see it) may answer
    it by mail."""

    def watches() -> bool:
        watching = ticket_watchers.c.ticket_id == ticket["id"], ticket_watchers.c.user_id == sender.id
        return tx.conn.execute(select(ticket_watchers.c.user_id).where(*watching)).first() is not None

    shared = partial(tickets.shared_with, tx.conn, sender.id, ticket)
    mine = ticket["requester_id"] == sender.id
    return may_see_ticket(sender.role, requester=mine, shared=shared, watches=watches)


def _thread(tx: Tx, mail: ParsedMail, config: IntakeConfig, sender: Principal) -> threading.Match | None:
    """The first candidate ticket that exists, is not closed, and the sender may answer."""
    for match in threading.candidates(tx.conn, mail, config.domain):
        ticket = threading.exists(tx.conn, match.ticket_id)
        if ticket is not None and ticket["status"] != "closed" and _may_write(tx, sender, ticket):
            return dataclasses.replace(match, ticket_id=int(str(ticket["id"])))  # a merged ticket's survivor
    return None


def _keep_files(
    tx: Tx, mail: ParsedMail, config: IntakeConfig, sender: Principal, ticket_id: int, comment_id: int | None
) -> str | None:
    """Store the mail's files (inline images too); return its HTML with `cid:` links pointing at them."""
    html = mail.html
    for part in mail.attachments:
        if len(part.data) > config.max_attachment_bytes:
            continue
        made = attachments.add(
            tx,
            actor=sender,
            ticket_id=ticket_id,
            filename=part.filename,
            data=part.data,
            limit=config.max_attachment_bytes,
            comment_id=comment_id,
            content_id=part.content_id,
            trusted=True,
        )
        if html is not None and part.content_id:
            html = html.replace(f"cid:{part.content_id}", f"/api/attachments/{made['id']}")
    return html


def _record_bounces(tx: Tx, mail: ParsedMail, config: IntakeConfig, ref: dict[str, Any]) -> None:
    """Honour a delivery report for the addresses it proves NixFlow mailed; a report naming others is forged or
    about mail NixFlow never sent them, and marks nobody."""
    honoured, unproven = verify.bounces(mail, config.trust.keys)
    if unproven:
        _suppress(tx, mail, ref, f"a delivery report about mail NixFlow did not send: {', '.join(unproven)}"[:300])
    if not honoured:
        return
    for address in honoured:
        tx.conn.execute(email_bounces.delete().where(email_bounces.c.address == address))
        tx.conn.execute(
            insert(email_bounces).values(address=address, reason=f"bounced: {ref['message_id']}"[:300], since=tx.now)
        )
    tx.emit(
        "email.bounced", aggregate_type="email", aggregate_id=ref["inbound_id"], data={**ref, "addresses": honoured}
    )


def config_from(settings: Settings) -> IntakeConfig:
    """The intake's configuration, from the settings."""
    return IntakeConfig(
        domain=MailConfig(settings.mail_from, settings.base_url).domain,
        allowed_domains=settings.allowed_mail_domains,
        max_per_hour=settings.mail_max_per_hour,
        max_attachment_bytes=settings.max_attachment_bytes,
        trust=verify.Trust(keys=keyring(settings), authserv_id=settings.mail_trusted_authserv_id),
    )


async def deliver(writer: Writer, mail: ParsedMail, config: IntakeConfig) -> Outcome:
    """Store one mail through the writer; the same Message-ID stored by someone else meanwhile is a duplicate."""
    ctx = EventContext(correlation_id=uuid7(), actor_id=None, source="email")
    try:
        return await writer.run(lambda tx: receive(tx, mail, config), ctx)
    except IntegrityError:
        # Two deliveries of one message raced (two workers, or the pipe and the mailbox): one stored it.
        if await writer.run(lambda tx: already_stored(tx, mail.message_id), ctx) is not None:
            return Outcome("duplicate")
        raise
