"""Notification preferences: read with defaults, replaced whole by the user."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from nixflow.domain.errors import ValidationFailed
from nixflow.notifications.model import DIGESTS, KINDS, Preferences
from nixflow.store.db import Tx
from nixflow.store.fast import Fast
from nixflow.store.tables import notification_preferences as prefs_table
from nixflow.store.tables import notifications

_GET = Fast(select(prefs_table).where(prefs_table.c.user_id == bindparam("b_user")))  # every notification


def get(conn: Connection, *, user_id: int) -> Preferences:
    """A user's preferences; defaults (everything on, no digest) until they change them."""
    row = _GET.first(conn, {"b_user": user_id})
    if row is None:
        return Preferences()
    return Preferences(email=dict(row["email"]), in_app=dict(row["in_app"]), digest=str(row["digest"]))


def current(tx: Tx, *, user_id: int) -> Preferences:
    """`get`, read once per unit of work (`put` clears the memo)."""
    return tx.memoized(("notify.preferences", user_id), lambda: get(tx.conn, user_id=user_id))


def _flags(value: Any, channel: str) -> dict[str, bool]:
    if (
        not isinstance(value, Mapping)
        or set(value) != set(KINDS)
        or not all(isinstance(v, bool) for v in value.values())
    ):
        raise ValidationFailed(
            f"{channel} must have exactly the keys {', '.join(KINDS)}, each true or false",
            errors=[{"loc": ["body", channel], "msg": "invalid"}],
        )
    return {k: bool(value[k]) for k in KINDS}


def put(tx: Tx, *, user_id: int, email: Any, in_app: Any, digest: Any) -> Preferences:
    """Replace a user's preferences. Mail already waiting for a digest is sent on its own when the digest is
    turned off, so nothing is lost."""
    if digest not in DIGESTS:
        raise ValidationFailed(
            f"digest must be one of {', '.join(DIGESTS)}", errors=[{"loc": ["body", "digest"], "msg": "invalid"}]
        )
    chosen = Preferences(email=_flags(email, "email"), in_app=_flags(in_app, "in_app"), digest=str(digest))
    tx.memo.clear()
    values = {"email": dict(chosen.email), "in_app": dict(chosen.in_app), "digest": chosen.digest, "updated_at": tx.now}
    done = tx.conn.execute(update(prefs_table).where(prefs_table.c.user_id == user_id).values(**values))
    if done.rowcount == 0:
        tx.conn.execute(insert(prefs_table).values(user_id=user_id, **values))
    if chosen.digest == "off":
        tx.conn.execute(
            update(notifications)
            .where(notifications.c.recipient_id == user_id, notifications.c.email_status == "digest")
            .values(email_status="pending", send_after=tx.now)
        )
    return chosen
