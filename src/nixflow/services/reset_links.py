"""Ending a user's open password reset links: when a newer one is asked for, when the password changes any
other way (self-service, an admin, the CLI, another link), and when the account is deactivated."""

from __future__ import annotations

from sqlalchemy import select, update

from nixflow.services import account_mail
from nixflow.store.db import Tx
from nixflow.store.tables import password_resets


def end_open_links(tx: Tx, *, user_id: int, outcome: str) -> None:
    """End the user's links still open (and cancel their mail not yet taken by the sender)."""
    open_links = (password_resets.c.user_id == user_id, password_resets.c.ended_at.is_(None))
    mails = tx.conn.execute(select(password_resets.c.notification_id).where(*open_links)).scalars().all()
    tx.conn.execute(
        update(password_resets).where(*open_links).values(ended_at=tx.now, outcome=outcome, token_sealed=None)
    )
    account_mail.cancel_account_mail(tx, notification_ids=[int(m) for m in mails if m is not None])
