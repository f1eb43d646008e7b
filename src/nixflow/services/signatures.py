"""An agent's signature: Markdown appended to their public replies when they are sent, so the comment stored,
the ticket page and the notification mail all carry the same words."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from nixflow.domain.errors import Forbidden, ValidationFailed
from nixflow.services.users import Principal
from nixflow.store.db import Tx
from nixflow.store.tables import SYSTEM_USER_ID, users

SIGNATURE_LIMIT = 2000
SEPARATOR = "\n\n-- \n"  # the conventional signature delimiter ("-- " on a line of its own)


def get(conn: Connection, *, user_id: int) -> str:
    """The user's signature ("" when they have none)."""
    return conn.execute(select(users.c.signature).where(users.c.id == user_id)).scalar() or ""


def set_signature(tx: Tx, *, actor: Principal, signature: str) -> str:
    """Set the actor's own signature; an empty one removes it. Only staff sign replies."""
    if not actor.is_staff:
        raise Forbidden("only agents and admins have a signature")
    text = signature.strip()
    if len(text) > SIGNATURE_LIMIT:
        raise ValidationFailed(
            f"the signature is longer than {SIGNATURE_LIMIT} characters",
            errors=[{"loc": ["body", "signature"], "msg": "too long"}],
        )
    tx.conn.execute(update(users).where(users.c.id == actor.id).values(signature=text or None, updated_at=tx.now))
    return text


def signed(conn: Connection, *, author: Principal, body: str, internal: bool, source: str) -> str:
    """`body` as it is stored: a public reply an agent writes on the web or the API ends with their signature.
    Internal notes and mailed replies (their mail client signed them already) stay as written."""
    if internal or source == "email" or not author.is_staff or author.id == SYSTEM_USER_ID:
        return body
    signature = get(conn, user_id=author.id)
    return f"{body}{SEPARATOR}{signature}" if signature else body
