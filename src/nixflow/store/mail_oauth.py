"""The rows of OAuth2 mailboxes (`mail_oauth_mailboxes`): what an admin configured, and where its grant stands.

Secrets arrive here encrypted (`Keyring.encrypt`) and leave encrypted: this module never sees a plaintext token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from nixflow.store.db import Tx, insert_returning_id
from nixflow.store.tables import mail_oauth_mailboxes as boxes

PUBLIC = (
    "id",
    "address",
    "provider",
    "authorization_endpoint",
    "token_endpoint",
    "scopes",
    "client_id",
    "status",
    "connected_at",
    "paused_at",
    "paused_reason",
    "created_at",
    "updated_at",
)


def public(row: Any) -> dict[str, Any]:
    """What an admin may read of a mailbox: never a secret."""
    return {name: row._mapping[name] for name in PUBLIC}


def by_id(conn: Connection, mailbox_id: int) -> Any:
    return conn.execute(select(boxes).where(boxes.c.id == mailbox_id)).first()


def by_address(conn: Connection, address: str) -> Any:
    return conn.execute(select(boxes).where(boxes.c.address == address)).first()


def listing(conn: Connection) -> list[dict[str, Any]]:
    return [public(row) for row in conn.execute(select(boxes).order_by(boxes.c.address))]


def add(tx: Tx, values: dict[str, Any]) -> int:
    fresh = {"status": "not_connected", "grant_version": 0, "created_at": tx.now, "updated_at": tx.now}
    return insert_returning_id(tx.conn, insert(boxes), {**values, **fresh})


def remove(tx: Tx, mailbox_id: int) -> None:
    tx.conn.execute(delete(boxes).where(boxes.c.id == mailbox_id))


def set_pending(tx: Tx, mailbox_id: int, *, state_hash: str, verifier: str, by: int, until: datetime) -> None:
    """The consent screen this admin was sent to; a newer one replaces it."""
    tx.conn.execute(
        update(boxes)
        .where(boxes.c.id == mailbox_id)
        .values(pending_state=state_hash, pending_verifier=verifier, pending_by=by, pending_until=until)
    )


def take_pending(tx: Tx, state_hashes: list[str]) -> Any:
    """The mailbox waiting for one of these state hashes, which it forgets (a state is used once); None if none."""
    row = tx.conn.execute(select(boxes).where(boxes.c.pending_state.in_(state_hashes))).first()
    if row is not None:
        tx.conn.execute(
            update(boxes)
            .where(boxes.c.id == row.id)
            .values(pending_state=None, pending_verifier=None, pending_by=None, pending_until=None)
        )
    return row


def connect(tx: Tx, mailbox_id: int, *, refresh_token: str) -> None:
    """A new grant: connected, whatever it was (a pause ends here)."""
    tx.conn.execute(
        update(boxes)
        .where(boxes.c.id == mailbox_id)
        .values(
            status="connected",
            refresh_token=refresh_token,
            grant_version=boxes.c.grant_version + 1,
            connected_at=tx.now,
            paused_at=None,
            paused_reason=None,
            updated_at=tx.now,
        )
    )


def pause(tx: Tx, mailbox_id: int, *, grant_version: int, reason: str) -> bool:
    """Pause the mailbox if `grant_version` is still its grant (a reconnection meanwhile wins); whether it did."""
    done = tx.conn.execute(
        update(boxes)
        .where(boxes.c.id == mailbox_id, boxes.c.grant_version == grant_version, boxes.c.status == "connected")
        .values(status="paused", refresh_token=None, paused_at=tx.now, paused_reason=reason, updated_at=tx.now)
    )
    return done.rowcount == 1


def rotate_refresh_token(tx: Tx, mailbox_id: int, *, grant_version: int, refresh_token: str) -> None:
    """The provider sent a new refresh token with an access token: keep it (same grant)."""
    tx.conn.execute(
        update(boxes)
        .where(boxes.c.id == mailbox_id, boxes.c.grant_version == grant_version)
        .values(refresh_token=refresh_token, updated_at=tx.now)
    )
