"""Idempotency keys: a retried create answers with the first result and creates nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, insert, select

from nixflow.domain.errors import ValidationFailed
from nixflow.store.db import Tx
from nixflow.store.tables import idempotency_keys

KEY_LIFETIME = timedelta(hours=24)


def request_hash(body: dict[str, Any]) -> str:
    """A stable hash of a request body."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def once(tx: Tx, *, user_id: int, key: str, body_hash: str, create: Callable[[], int]) -> tuple[int, bool]:
    """Run `create` unless this user used `key` in the last 24 h; return (id, created)."""
    if not key or len(key) > 255:
        raise ValidationFailed("Idempotency-Key must be 1 to 255 characters")
    where = (idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key)
    row = tx.conn.execute(select(idempotency_keys).where(*where)).first()
    if row is not None and row.created_at > tx.now - KEY_LIFETIME:
        if row.request_hash != body_hash:
            raise ValidationFailed("this Idempotency-Key was used with a different request body")
        return int(row.ticket_id), False
    if row is not None:
        tx.conn.execute(delete(idempotency_keys).where(*where))
    resource_id = create()
    tx.conn.execute(
        insert(idempotency_keys).values(
            user_id=user_id, key=key, request_hash=body_hash, ticket_id=resource_id, created_at=tx.now
        )
    )
    return resource_id, True
