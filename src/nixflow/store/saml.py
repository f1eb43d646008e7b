"""The SAML service provider's rows: its one key pair, and the AuthnRequests still waiting for their answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, select

from nixflow.store.db import upsert
from nixflow.store.tables import saml_requests, saml_sp_keys

KEYS_ROW = 1


def sp_keys(conn: Connection) -> tuple[str, str] | None:
    """The SP's certificate and encrypted private key, if they were made."""
    row = conn.execute(
        select(saml_sp_keys.c.certificate, saml_sp_keys.c.private_key).where(saml_sp_keys.c.id == KEYS_ROW)
    ).first()
    return (str(row.certificate), str(row.private_key)) if row is not None else None


def keep_sp_keys(conn: Connection, *, certificate: str, private_key: str, now: datetime) -> None:
    """Store the SP's key pair unless another process stored one first (then that one stays)."""
    values = {"id": KEYS_ROW, "certificate": certificate, "private_key": private_key, "created_at": now}
    conn.execute(upsert(conn, saml_sp_keys).values(**values).on_conflict_do_nothing())


def remember_request(
    conn: Connection, *, request_id: str, provider_id: int, next_path: str, expires_at: datetime, now: datetime
) -> None:
    """Keep an AuthnRequest's id until it is answered or expires (and forget those that expired)."""
    conn.execute(delete(saml_requests).where(saml_requests.c.expires_at <= now))
    conn.execute(
        saml_requests.insert().values(
            request_id=request_id, provider_id=provider_id, next_path=next_path, expires_at=expires_at
        )
    )


def take_request(conn: Connection, *, request_id: str, provider_id: int, now: datetime) -> str | None:
    """Consume the outstanding request `request_id` of this provider: its `next` path, or None if it is not
    waiting (never sent, already answered, expired). A request is answered at most once."""
    taken = conn.execute(
        delete(saml_requests)
        .where(saml_requests.c.request_id == request_id, saml_requests.c.provider_id == provider_id)
        .returning(saml_requests.c.next_path, saml_requests.c.expires_at)
    ).first()
    if taken is None or taken.expires_at <= now:
        return None
    return str(taken.next_path)
