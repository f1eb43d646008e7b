"""The sender: a periodic job that mails what the consumer made, once the holding window has passed.

It never runs inside a handler: claims and outcomes are short units of work, the SMTP conversation
happens between them. A server that cannot be reached stops the run (the mail waits, nothing counts
against it); a refusal is retried with backoff and ends `notification.failed`.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Connection

from nixflow.crypto import Keyring
from nixflow.domain.envelope import EventContext
from nixflow.mailwire import decision_links
from nixflow.mailwire import tokens as mail_tokens
from nixflow.mailwire.addresses import MailConfig
from nixflow.notifications import outbox
from nixflow.notifications.mail import compose, compose_password_reset, survey_for
from nixflow.notifications.model import backoff_seconds
from nixflow.notifications.outbox import Claim
from nixflow.notifications.smtp import Mailer, Outage, Refused, SmtpTarget
from nixflow.observe import logs, tracing
from nixflow.services import password_reset
from nixflow.services.mail_tokens import MailTokens
from nixflow.store.db import Database, Tx
from nixflow.store.tables import SYSTEM_USER_ID
from nixflow.store.writer import Writer

T = TypeVar("T")
log = logging.getLogger(__name__)

_CTX = EventContext(correlation_id="notifications", actor_id=SYSTEM_USER_ID, source="notifications.sender")


class Cause(NamedTuple):
    """The event that planned a mail (None for account mail, or once retention removed it)."""

    event_id: str | None
    correlation_id: str | None


class NotificationSender:
    """Sends due notification mail and digests; the job's result is how many mails went out."""

    MAX_MAILS = 50  # per run, so the other periodic jobs are not held up
    BACKOFF_CAP_SECONDS = 3600.0

    def __init__(
        self,
        *,
        db: Database,
        writer: Writer,
        smtp_url: str,
        mail: MailConfig,
        keys: Keyring,
        stale_after_seconds: float,
        max_attempts: int,
        retry_base_seconds: float,
        tokens: MailTokens | None = None,
    ) -> None:
        self.db = db
        self.tokens = tokens
        self.writer = writer
        self.target = SmtpTarget.from_url(smtp_url)
        self.mail = mail
        self.keys = keys
        self.stale_after = timedelta(seconds=stale_after_seconds)
        # Well inside the stale limit: a live sender's claim is never released under it.
        self.timeout = max(0.2, min(10.0, stale_after_seconds / 3))
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds

    async def __call__(self, now: datetime) -> int:
        at = functools.partial(_as_of, now)
        await self.writer.run(at(lambda tx: outbox.release_stale(tx, before=tx.now - self.stale_after)), _CTX)
        mailer = Mailer(self.target, timeout=self.timeout, tokens=self.tokens)
        sent = 0
        deadline = time.monotonic() + self.timeout * 2
        try:
            # Account mail (a reset link someone is waiting for) first, then notifications, then digests.
            for claim_next in (outbox.claim_due_account_mail, outbox.claim_due_group, outbox.claim_due_digest):
                while sent < self.MAX_MAILS and time.monotonic() < deadline:
                    claim = await self.writer.run(at(claim_next), _CTX)
                    if claim is None:
                        break
                    if not await self._send(mailer, claim, now):
                        return sent
                    sent += 1
        finally:
            await mailer.close()
        return sent

    async def _send(self, mailer: Mailer, claim: Claim, now: datetime) -> bool:
        """Send one claimed mail and record the outcome; False when the server is unreachable."""
        composed = await self._compose(claim, now)
        if composed is None:
            return True
        message, reason, cause = composed
        # The mail is the end of the automation that planned it: its lines, and `notification.sent`, carry the
        # planning event's correlation id, so one ticket's automation reads as one across processes.
        ctx = _CTX
        if cause.correlation_id is not None:
            ctx = replace(_CTX, correlation_id=cause.correlation_id, causation_id=cause.event_id)
        with logs.caused_by(cause.event_id, cause.correlation_id):
            return await self._deliver(mailer, claim, now, message, reason, ctx)

    async def _deliver(
        self, mailer: Mailer, claim: Claim, now: datetime, message: EmailMessage, reason: str, ctx: EventContext
    ) -> bool:
        at = functools.partial(_as_of, now)
        message_id = str(message["Message-ID"])
        if claim.message_id is None:
            await self.writer.run(lambda tx: outbox.name_mail(tx, claim, message_id), _CTX)
        # VERP: a delivery report comes back to an address only this mail to this recipient carried.
        to = parseaddr(str(message["To"]))[1]
        envelope_from = mail_tokens.return_path(
            self.keys, notification_id=claim.ids[0], address=to, mail_from=self.mail.mail_from
        )
        cause = await self.db.read(lambda conn: outbox.cause(conn, claim)) if tracing.enabled() else None
        try:
            with tracing.outgoing("smtp send", cause, notifications=len(claim.ids)):
                await mailer.send(message, envelope_from=envelope_from)
        except Outage as exc:
            error = str(exc)
            log.warning("mail server unreachable, notifications wait: %s", error)
            await self.writer.run(
                at(lambda tx: outbox.mark_retry(tx, claim, error=error, counts=False, fail=False, retry_at=tx.now)),
                _CTX,
            )
            return False
        except Refused as exc:
            error = str(exc)
            attempts = claim.attempts + 1
            fail = exc.permanent or attempts >= self.max_attempts
            delay = timedelta(seconds=backoff_seconds(self.retry_base_seconds, attempts, self.BACKOFF_CAP_SECONDS))
            log.info("mail %s refused (attempt %s): %s", message_id, attempts, exc)

            def refused(tx: Tx) -> None:
                outbox.mark_retry(tx, claim, error=error, counts=True, fail=fail, retry_at=tx.now + delay)
                if fail:
                    self._settled(tx, claim)

            await self.writer.run(at(refused), ctx)
            return True

        def sent(tx: Tx) -> None:
            outbox.mark_sent(tx, claim, message_id=message_id, reason=reason)
            self._settled(tx, claim)

        await self.writer.run(at(sent), ctx)
        log.info("notification mail sent: notifications %s, ticket %s", claim.ids, claim.ticket_id)
        return True

    def _message_id(self, claim: Claim, address: str) -> str:
        """The mail's Message-ID: the one an earlier attempt gave it, else one carrying the recipient's token."""
        return claim.message_id or mail_tokens.message_id(
            self.keys, notification_id=claim.ids[0], address=address, domain=self.mail.domain
        )

    async def _compose(self, claim: Claim, now: datetime) -> tuple[EmailMessage, str, Cause] | None:
        """The mail for a claim, why it is sent and what caused it; None when it must not go (the claim is then
        finished here)."""
        if claim.account_kind is not None:
            composed = await self._compose_account(claim, now)
            return None if composed is None else (*composed, Cause(None, None))
        recipient, items, ticket = await self.db.read(lambda conn: outbox.mail_contents(conn, claim))
        if not recipient["active"] or recipient["bouncing"]:
            # A bouncing address (a delivery report said so) gets no mail until it works again.
            why = "the recipient was deactivated" if not recipient["active"] else "the recipient's address bounces"
            await self.writer.run(
                lambda tx: outbox.mark_retry(tx, claim, error=why, counts=False, fail=True, retry_at=tx.now),
                _CTX,
            )
            return None
        items = [self._with_decision_link(item, claim.recipient_id, now) for item in items]
        message = compose(
            self.mail,
            to_email=recipient["email"],
            to_name=recipient["name"],
            items=items,
            message_id=self._message_id(claim, recipient["email"]),
            ticket=ticket,
            reader=self.mail.reader(recipient),
            survey=survey_for(self.mail, self.keys, recipient_id=claim.recipient_id, ticket=ticket, items=items),
        )
        first = items[0] if items else {}
        return message, first.get("reason", ""), Cause(first.get("event_id"), first.get("correlation_id"))

    def _with_decision_link(self, item: dict[str, Any], recipient_id: int, now: datetime) -> dict[str, Any]:
        """An approval request carries its recipient's signed link, made now: the database never holds it."""
        change = item.get("change") or {}
        if "workflow_run_id" not in change:
            return item
        link = decision_links.DecisionLink(int(change["workflow_run_id"]), int(change["step"]), recipient_id)
        signed = decision_links.token(self.keys, link, now=now)
        return {**item, "action_link": decision_links.url(self.mail.base_url, signed)}

    async def _compose_account(self, claim: Claim, now: datetime) -> tuple[EmailMessage, str] | None:
        """A password reset mail. Unlike notifications it goes to a bouncing address too: whoever asked for a
        link may have fixed their mailbox, and a refusal still ends the mail `failed`."""
        notification_id = claim.ids[0]

        def read(conn: Connection) -> tuple[dict[str, Any], dict[str, Any] | None]:
            return outbox.recipient_of(conn, claim), password_reset.link_to_mail(
                conn, keys=self.keys, notification_id=notification_id, now=now
            )

        recipient, link = await self.db.read(read)
        why = None if recipient["active"] else "the recipient was deactivated"
        if link is None:
            why = "the reset link was used, replaced, expired or can no longer be opened"
        if why is not None:

            def cancel(tx: Tx) -> None:
                outbox.mark_cancelled(tx, claim, why=why)
                self._settled(tx, claim)

            await self.writer.run(cancel, _CTX)
            return None
        assert link is not None
        message = compose_password_reset(
            self.mail,
            to_email=recipient["email"],
            to_name=recipient["name"],
            token=link["token"],
            expires_at=link["expires_at"],
            message_id=self._message_id(claim, recipient["email"]),
            reader=self.mail.reader(recipient),
        )
        return message, "you asked to reset your password"

    @staticmethod
    def _settled(tx: Tx, claim: Claim) -> None:
        """A mail that is done with (sent, given up, cancelled) no longer needs what it carried."""
        if claim.account_kind == password_reset.PURPOSE:
            password_reset.forget_token(tx, notification_id=claim.ids[0])


def _as_of(now: datetime, fn: Callable[[Tx], T]) -> Callable[[Tx], T]:
    """`fn` run as of the scheduler's `now` (which tests move)."""

    def run(tx: Tx) -> T:
        return fn(tx.at(now))

    return run
