"""Idempotency keys: a retried create answers with the first result and creates nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update

from nixflow.domain.errors import ValidationFailed
from nixflow.store.db import Tx, upsert
from nixflow.store.tables import idempotency_keys

KEY_LIFETIME = timedelta(hours=24)


def request_hash(body: dict[str, Any]) -> str:
    """A stable hash of a request body."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def once(tx: Tx, *, user_id: int, key: str, body_hash: str, create: Callable[[], int]) -> tuple[int, bool]:
    """Run `create` unless this user used `key` in the last 24 h; return (id, created).

    The key is claimed before `create` runs (INSERT ... ON CONFLICT DO NOTHING), so of two concurrent
    requests with one key the second waits for the first to commit and then answers with its result.
    """
    if not key or len(key) > 255:
        raise ValidationFailed("Idempotency-Key must be 1 to 255 characters")
    where = (idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key)
    row = tx.conn.execute(select(idempotency_keys).where(*where)).first()
    if row is not None and row.created_at <= tx.now - KEY_LIFETIME:
        tx.conn.execute(delete(idempotency_keys).where(*where))
        row = None
    if row is None:
        claim = upsert(tx.conn, idempotency_keys).values(
            user_id=user_id, key=key, request_hash=body_hash, ticket_id=0, created_at=tx.now
        )
        claimed = tx.conn.execute(claim.on_conflict_do_nothing().returning(idempotency_keys.c.key)).first()
        if claimed is not None:
            resource_id = create()
            tx.conn.execute(update(idempotency_keys).where(*where).values(ticket_id=resource_id))
            return resource_id, True
        row = tx.conn.execute(select(idempotency_keys).where(*where)).one()
    if row.request_hash != body_hash:
        raise ValidationFailed("this Idempotency-Key was used with a different request body")
    return int(row.ticket_id), False
