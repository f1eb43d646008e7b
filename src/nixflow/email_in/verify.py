"""What a mail proves about its sender. `From:` alone proves nothing: anyone can write any address there.

A reply is verified by a token NixFlow issued to the sender's address (it comes back in In-Reply-To/References:
see `mailwire.tokens`), or by the `Authentication-Results` of the receiving server NixFlow trusts
(`NIXFLOW_MAIL_TRUSTED_AUTHSERV_ID`) saying DMARC passed, or DKIM passed for the From domain. A delivery report is
honoured for an address only when it carries a token NixFlow issued to that address (the VERP envelope sender it
was returned to, or the Message-ID of the mail that failed).
"""

from __future__ import annotations

import email
from dataclasses import dataclass
from email import policy
from email.parser import BytesHeaderParser

import authres
from sqlalchemy import Connection, select

from nixflow.crypto import Keyring
from nixflow.email_in.parse import ParsedMail
from nixflow.mailwire import tokens as mail_tokens
from nixflow.store.tables import events, notifications

# What a requester is told of too: an agent's reply to a mail about only these may be public.
_PUBLIC_EVENTS = frozenset({"ticket.created", "ticket.commented", "ticket.status_changed"})


@dataclass(frozen=True)
class Trust:
    """What the intake checks a sender against."""

    keys: Keyring
    authserv_id: str | None  # the receiving server whose Authentication-Results count; None: none do


@dataclass(frozen=True)
class Proof:
    """How a mail proved its sender (`how` None: it did not), and whether it answers a public notification."""

    how: str | None  # token | authentication-results | None
    public: bool = False

    @property
    def verified(self) -> bool:
        return self.how is not None


UNVERIFIED = Proof(None)


def reply(conn: Connection, mail: ParsedMail, trust: Trust) -> Proof:
    """What `mail` proves: the notification it answers first (In-Reply-To, then References newest first)."""
    for message_id in [*mail.in_reply_to, *reversed(mail.references)]:
        for mark in mail_tokens.found(message_id):
            if mail_tokens.issued_to(trust.keys, mark, mail.sender):
                return Proof("token", _public(conn, mark.notification_id))
    if trust.authserv_id and authenticated(mail.raw, authserv_id=trust.authserv_id, sender=mail.sender):
        return Proof("authentication-results")
    return UNVERIFIED


def _public(conn: Connection, notification_id: int) -> bool:
    """Whether the mail that carried notification `notification_id` told only what the requester is told too."""
    head = select(notifications.c.message_id).where(notifications.c.id == notification_id).scalar_subquery()
    rows = conn.execute(
        select(notifications.c.event_type, events.c.data)
        .outerjoin(events, events.c.event_id == notifications.c.event_id)
        .where((notifications.c.id == notification_id) | (notifications.c.message_id == head))
    ).all()
    return bool(rows) and all(
        r.event_type in _PUBLIC_EVENTS and r.data is not None and not r.data.get("internal") for r in rows
    )


def authenticated(raw: bytes, *, authserv_id: str, sender: str) -> bool:
    """Whether the topmost Authentication-Results of `authserv_id` says DMARC passed for the sender's domain, or
    DKIM passed with a signing domain aligned to it. Lower ones of the same id may be forged upstream."""
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    domain = sender.rpartition("@")[2].lower()
    for value in headers.get_all("Authentication-Results") or []:
        try:
            parsed = authres.AuthenticationResultsHeader.parse_value(" ".join(str(value).split()))
        except authres.AuthResError:
            continue  # unreadable: it proves nothing, and it is not the trusted server's
        if str(parsed.authserv_id).lower() != authserv_id.lower():
            continue
        return any(_passes(result, domain) for result in parsed.results)
    return False


def _passes(result: authres.AuthenticationResult, domain: str) -> bool:
    if str(result.result).lower() != "pass":
        return False
    found = {f"{p.type}.{p.name}".lower(): str(p.value).lower() for p in result.properties}
    method = str(result.method).lower()
    if method == "dmarc":
        return found.get("header.from", domain) == domain
    if method == "dkim":
        signer = found.get("header.d") or found.get("header.i", "").rpartition("@")[2]
        return bool(signer) and (domain == signer or domain.endswith(f".{signer}"))
    return False


def bounces(mail: ParsedMail, keys: Keyring) -> tuple[list[str], list[str]]:
    """The addresses a delivery report proves bounced (a token NixFlow issued to that address is in it), and
    those it names without proof."""
    marks = mail_tokens.found(_report_text(mail.raw))
    honoured = [a for a in mail.bounced if any(mail_tokens.issued_to(keys, m, a) for m in marks)]
    return honoured, [a for a in mail.bounced if a not in honoured]


def _report_text(raw: bytes) -> str:
    """The report's headers and every part's decoded text: the returned mail's ids may be in any of them."""
    msg = email.message_from_bytes(raw, policy=policy.compat32)
    texts = [raw.decode("utf-8", "replace")]
    for part in msg.walk():
        texts.extend(str(v) for v in part.values())
        payload = part.get_payload(decode=True) if not part.is_multipart() else None
        if isinstance(payload, bytes):
            texts.append(payload.decode("utf-8", "replace"))
    return "\n".join(texts)
