"""Quarantine: a message the intake cannot store is held (its bytes, the error, when) so the mailbox and the MTA
move on; an admin retries it after a fix, or discards it.

`take` is the one way a message comes in (pipe and mailbox alike): parse, store, or hold. It raises only
`Unreadable` (bytes that are no message) and transient outages (the database cannot be reached), which the
caller retries later; every other failure is held, each in its own unit of work after the intake's rolled back.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from nixflow.domain.envelope import EventContext
from nixflow.domain.errors import ServiceUnavailable
from nixflow.email_in import intake
from nixflow.email_in.intake import IntakeConfig, Outcome
from nixflow.email_in.mime import unescaped
from nixflow.email_in.parse import ParsedMail, Unreadable, parse
from nixflow.ids import uuid7
from nixflow.store.db import Tx, insert_returning_id, unavailable
from nixflow.store.tables import mail_quarantine
from nixflow.store.writer import Writer

log = logging.getLogger(__name__)

Source = Literal["pipe", "imap"]
FIELDS = tuple(c.name for c in mail_quarantine.columns if c.name not in ("raw", "digest"))


@dataclass(frozen=True)
class Held:
    """A message held in quarantine instead of stored."""

    quarantine_id: int
    error: str


def transient(exc: BaseException) -> bool:
    """Whether a failure is an outage that passes (try again later), not something wrong with the message."""
    return isinstance(exc, ServiceUnavailable | OSError) or unavailable(exc)


def describe(exc: BaseException) -> str:
    """An error as an admin reads it: its type and the first line of its message, never a traceback."""
    message = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {message[0]}" if message else type(exc).__name__


def storable(value: str | None, length: int) -> str | None:
    """Text any database stores, within its column's `length` (an exception's message may quote raw bytes)."""
    return None if value is None else unescaped(value)[:length]


def read(raw: bytes, config: IntakeConfig) -> ParsedMail | Exception:
    """The message parsed, or the error parsing it met (to be held with its bytes); Unreadable raised."""
    try:
        return parse(raw, own_domain=config.domain)
    except Unreadable:
        raise
    except Exception as exc:  # a defect of NixFlow's on hostile input: the message is held, the mailbox moves on
        log.exception("mail cannot be parsed: held in quarantine")
        return exc


async def take(
    writer: Writer, raw: bytes, mail: ParsedMail | Exception, *, source: Source, config: IntakeConfig
) -> Outcome | Held:
    """Store one message read by `read`, or hold it; raises only transient outages."""
    if isinstance(mail, Exception):
        return await _hold(writer, raw, source=source, exc=mail, mail=None)
    try:
        return dataclasses.replace(await intake.deliver(writer, mail, config), message_id=mail.message_id)
    except Exception as exc:
        if transient(exc):
            raise
        log.exception("mail %s from %s cannot be stored: held in quarantine", mail.message_id, source)
        return await _hold(writer, raw, source=source, exc=exc, mail=mail)


async def _hold(writer: Writer, raw: bytes, *, source: Source, exc: BaseException, mail: ParsedMail | None) -> Held:
    ctx = EventContext(correlation_id=uuid7(), actor_id=None, source="email")
    try:
        held = await writer.run(lambda tx: hold(tx, raw, source=source, error=exc, mail=mail), ctx)
    except IntegrityError:  # the same bytes were held by a second delivery meanwhile: count this one there
        held = await writer.run(lambda tx: hold(tx, raw, source=source, error=exc, mail=mail), ctx)
    return Held(held, describe(exc))


def hold(tx: Tx, raw: bytes, *, source: Source, error: BaseException, mail: ParsedMail | None) -> int:
    """Hold a message (the same bytes already held count one attempt more); emits `email.quarantined`."""
    digest = hashlib.sha256(raw).hexdigest()
    errors = {"error_type": type(error).__name__[:100], "error": storable(describe(error), 1000), "updated_at": tx.now}
    found = tx.conn.execute(
        select(mail_quarantine.c.id, mail_quarantine.c.attempts).where(
            mail_quarantine.c.digest == digest, mail_quarantine.c.state == "held"
        )
    ).first()
    about = {
        "message_id": storable(mail.message_id, 255) if mail else None,
        "sender": storable(mail.sender, 254) if mail else None,
    }
    if found is not None:
        quarantine_id, attempts = int(found.id), int(found.attempts) + 1
        tx.conn.execute(
            update(mail_quarantine).where(mail_quarantine.c.id == quarantine_id).values(attempts=attempts, **errors)
        )
    else:
        attempts = 1
        row = {
            **about,
            **errors,
            "source": source,
            "digest": digest,
            "subject": storable(mail.subject, 300) if mail else None,
            "size": len(raw),
            "raw": raw,
            "state": "held",
            "attempts": attempts,
            "quarantined_at": tx.now,
        }
        quarantine_id = insert_returning_id(tx.conn, insert(mail_quarantine), row)
    subject = storable(mail.subject, 300) if mail else None
    tx.emit(
        "email.quarantined",
        aggregate_type="email_quarantine",
        aggregate_id=quarantine_id,
        data={
            "quarantine_id": quarantine_id,
            **about,
            "source": source,
            "subject": subject,
            "size": len(raw),
            "error": errors["error"],
            "attempts": attempts,
        },
    )
    return quarantine_id
