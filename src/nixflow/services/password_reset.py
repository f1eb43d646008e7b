"""Password reset links: asked for by email address, mailed through the notification outbox, used once.

A request does the same work whatever the address (a token is made and sealed even when nobody gets it), and
answers the same. The token is stored as a keyed hash; its sealed (encrypted) copy lives only until the mail
that carries it has gone, failed, or the link ended, so the mail survives restarts and retries without the
token lying around in the clear. A new request ends the user's older unused links, and so does any other
password change or a deactivation (`reset_links`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from nixflow.crypto import BadSecret, Keyring
from nixflow.domain.envelope import EventRecord
from nixflow.domain.errors import InvalidResetLink
from nixflow.services import account_mail, auth, local_passwords, reset_links, users
from nixflow.store.db import Tx, insert_returning_id
from nixflow.store.tables import SYSTEM_USER_ID, password_resets
from nixflow.store.tables import users as users_table

PURPOSE = "password_reset"  # the rate limiter's count, and the notification kind of the mail
TOKEN_BYTES = 32
MAIL_TITLE = "Set a new NixFlow password"


@dataclass(frozen=True)
class ResetPolicy:
    """How long a link works, how often one may be asked for, and whether mail can go out at all."""

    lifetime: timedelta
    limits: auth.LoginLimits
    mail_on: bool


def new_token() -> str:
    """A fresh reset token: 32 random bytes, URL-safe."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def _announce(tx: Tx, *, email: str, user_id: int | None, outcome: str, reset_id: int | None = None) -> EventRecord:
    return tx.emit(
        "user.password_reset_requested",
        aggregate_type="user",
        aggregate_id=user_id if user_id is not None else "unknown",
        data={"email": email[:254], "user_id": user_id, "outcome": outcome, "reset_id": reset_id},
    )


def request(tx: Tx, *, keys: Keyring, email: str, address: str, token: str, policy: ResetPolicy) -> int | None:
    """Ask for a reset link for `email`, from `address`: the seconds to wait when over the rate limit, else None
    (whether or not a link was made: the caller must not tell)."""
    token_hash, sealed = keys.token_hash(token), keys.encrypt(token)  # the same work for every address
    limits = policy.limits
    if (
        wait := auth.reserve_login_attempt(tx, email=email, address=address, limits=limits, purpose=PURPOSE)
    ) is not None:
        _announce(tx, email=email, user_id=None, outcome="too many requests")
        return wait
    row = users.find_by_email(tx.conn, email=email)
    if row is None or not row.active or row.id == SYSTEM_USER_ID:
        outcome = "unknown email" if row is None else "inactive or system user"
        _announce(tx, email=email, user_id=None if row is None else int(row.id), outcome=outcome)
        return None
    user_id = int(row.id)
    if not local_passwords.allows(tx.conn, user_id=user_id, role=row.role):
        _announce(tx, email=email, user_id=user_id, outcome="local passwords off")
        return None
    if not policy.mail_on:
        _announce(tx, email=email, user_id=user_id, outcome="mail is not configured")
        return None
    reset_links.end_open_links(tx, user_id=user_id, outcome="superseded")
    reset_id = insert_returning_id(
        tx.conn,
        insert(password_resets),
        {
            "user_id": user_id,
            "token_hash": token_hash,
            "token_sealed": sealed,
            "created_at": tx.now,
            "expires_at": tx.now + policy.lifetime,
        },
    )
    cause = _announce(tx, email=email, user_id=user_id, outcome="mailed", reset_id=reset_id)
    notification_id = account_mail.queue_account_mail(
        tx, recipient_id=user_id, kind=PURPOSE, cause=cause, title=MAIL_TITLE, reason="you asked to reset your password"
    )
    tx.conn.execute(
        update(password_resets).where(password_resets.c.id == reset_id).values(notification_id=notification_id)
    )
    return None


def check(conn: Connection, *, keys: Keyring, token: str, now: datetime) -> int:
    """The id of the user a usable token resets; InvalidResetLink (saying why) otherwise."""
    found = conn.execute(
        select(password_resets, users_table.c.active, users_table.c.role)
        .join(users_table, users_table.c.id == password_resets.c.user_id)
        .where(password_resets.c.token_hash.in_(keys.token_hashes(token)))
    ).first()
    if found is None:
        raise InvalidResetLink("this reset link is not valid; ask for a new one")
    if found.outcome == "used":
        raise InvalidResetLink("this reset link was already used; ask for a new one")
    if found.outcome == "superseded":
        raise InvalidResetLink("a newer reset link was sent since; use the latest one")
    if found.expires_at <= now or found.ended_at is not None:  # ended by a password change or deactivation
        raise InvalidResetLink("this reset link has expired; ask for a new one")
    if not found.active or found.user_id == SYSTEM_USER_ID:
        raise InvalidResetLink("this account cannot sign in; ask an administrator")
    if not local_passwords.allows(conn, user_id=int(found.user_id), role=found.role):
        raise InvalidResetLink(local_passwords.refusal(found.role))
    return int(found.user_id)


def confirm(tx: Tx, *, keys: Keyring, token: str, password_hash: str) -> int:
    """Set the password a usable token was mailed for, end the link and every session of its user; the user id.

    API tokens keep working, as with a password change (revoke them on the account page).
    """
    user_id = check(tx.conn, keys=keys, token=token, now=tx.now)
    reset = tx.conn.execute(
        select(password_resets.c.id).where(password_resets.c.token_hash.in_(keys.token_hashes(token)))
    ).scalar_one()
    used = tx.conn.execute(
        update(password_resets)
        .where(password_resets.c.id == reset, password_resets.c.ended_at.is_(None))
        .values(ended_at=tx.now, outcome="used", token_sealed=None)
    )
    if used.rowcount != 1:  # a parallel confirm took it first
        raise InvalidResetLink("this reset link was already used; ask for a new one")
    ended = auth.set_password(  # which ends older links, if any, too
        tx, user_id=user_id, password_hash=password_hash, announce=False
    )
    email = tx.conn.execute(select(users_table.c.email).where(users_table.c.id == user_id)).scalar_one()
    auth.clear_login_attempts(tx, email=email)  # whoever reads the mailbox is no password guesser
    tx.emit(
        "user.password_reset",
        aggregate_type="user",
        aggregate_id=user_id,
        data={"user_id": user_id, "by_id": tx.ctx.actor_id, "reset_id": int(reset), "sessions_ended": ended},
    )
    return user_id


def link_to_mail(conn: Connection, *, keys: Keyring, notification_id: int, now: datetime) -> dict[str, Any] | None:
    """The token and expiry of the open link a queued mail carries; None when it must not go any more."""
    row = conn.execute(
        select(password_resets.c.token_sealed, password_resets.c.expires_at).where(
            password_resets.c.notification_id == notification_id,
            password_resets.c.ended_at.is_(None),
            password_resets.c.token_sealed.is_not(None),
            password_resets.c.expires_at > now,  # a mail held up past its link's expiry would only disappoint
        )
    ).first()
    if row is None:
        return None
    try:
        return {"token": keys.decrypt(row.token_sealed), "expires_at": row.expires_at}
    except BadSecret:
        return None  # sealed under a key since dropped: the user asks again


def forget_token(tx: Tx, *, notification_id: int) -> None:
    """The mail has gone (or given up): drop the sealed copy, only the hash stays."""
    tx.conn.execute(
        update(password_resets).where(password_resets.c.notification_id == notification_id).values(token_sealed=None)
    )
