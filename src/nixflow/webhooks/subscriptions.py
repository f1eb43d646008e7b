"""Webhook subscriptions (admin): create, read, change, delete, rotate the secret, replay.

A secret is stored encrypted (`Keyring.encrypt`) and shown once, when made. A new subscription starts at the
head of the log: it hears what happens from then on; replay reaches back.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, insert, literal, select, tuple_, update
from sqlalchemy import delete as sql_delete

from nixflow.crypto import BadSecret, Keyring
from nixflow.domain.errors import NotFound
from nixflow.store import event_log
from nixflow.store.db import Tx, insert_returning_id
from nixflow.store.tables import categories, events, webhooks
from nixflow.webhooks import deliveries
from nixflow.webhooks.model import Mode, Subscription, check_event_types, new_secret

REPLAY_LIMIT = 10_000  # deliveries one replay call schedules at most
PUBLIC = (
    "id",
    "url",
    "event_types",
    "category_id",
    "mode",
    "description",
    "disabled_at",
    "disabled_reason",
    "failing_since",
    "previous_secret_until",
    "created_at",
    "updated_at",
)


def _public(row: Any) -> dict[str, Any]:
    return {name: row._mapping[name] for name in PUBLIC}


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def _check_category(conn: Connection, category_id: int | None) -> None:
    if (
        category_id is not None
        and conn.execute(select(categories.c.id).where(categories.c.id == category_id)).first() is None
    ):
        raise NotFound(f"category {category_id} not found", errors=[{"loc": ["body", "category_id"], "msg": "unknown"}])


def _row(conn: Connection, webhook_id: int) -> Any:
    row = conn.execute(select(webhooks).where(webhooks.c.id == webhook_id)).first()
    if row is None:
        raise NotFound(f"webhook {webhook_id} not found")
    return row


def subscription_of(row: Any) -> Subscription:
    """The deliverer's view of a subscription row."""
    m = row._mapping
    return Subscription(
        id=int(m["id"]),
        url=m["url"],
        event_types=list(m["event_types"]),
        category_id=m["category_id"],
        mode=m["mode"],
        secret=m["secret"],
        previous_secret=m["previous_secret"],
        previous_secret_until=m["previous_secret_until"],
        cursor=(int(m["cursor_txid"]), int(m["cursor_seq"])),
        failing_since=m["failing_since"],
    )


def create(
    tx: Tx,
    *,
    keys: Keyring,
    url: str,
    event_types: list[str],
    category_id: int | None,
    mode: Mode,
    description: str,
) -> dict[str, Any]:
    """Create a subscription starting at the head of the log; its answer carries the secret, this once."""
    types = check_event_types(event_types)
    _check_category(tx.conn, category_id)
    secret = new_secret()
    txid, seq = event_log.head(tx.conn)
    webhook_id = insert_returning_id(
        tx.conn,
        insert(webhooks),
        {
            "url": url,
            "event_types": types,
            "category_id": category_id,
            "mode": mode,
            "description": description,
            "secret": keys.encrypt(secret),
            "cursor_txid": txid,
            "cursor_seq": seq,
            "created_by": tx.ctx.actor_id,
            "created_at": tx.now,
            "updated_at": tx.now,
        },
    )
    tx.emit(
        "webhook.created",
        aggregate_type="webhook",
        aggregate_id=webhook_id,
        data={
            "webhook_id": webhook_id,
            "host": _host(url),
            "event_types": types,
            "category_id": category_id,
            "mode": mode,
        },
    )
    return {**get(tx.conn, webhook_id=webhook_id), "secret": secret}


def list_all(conn: Connection) -> list[dict[str, Any]]:
    """Every subscription, oldest first."""
    return [_public(r) for r in conn.execute(select(webhooks).order_by(webhooks.c.id))]


def get(conn: Connection, *, webhook_id: int) -> dict[str, Any]:
    """One subscription (never its secret)."""
    return _public(_row(conn, webhook_id))


def active(conn: Connection) -> list[Subscription]:
    """The subscriptions a deliverer works for: active and shadow ones (paused ones wait where they are)."""
    rows = conn.execute(select(webhooks).where(webhooks.c.mode != "paused").order_by(webhooks.c.id))
    return [subscription_of(r) for r in rows]


def update_one(tx: Tx, *, webhook_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Change url, event_types, category_id, mode or description; resuming clears why it was disabled."""
    row = _row(tx.conn, webhook_id)
    values = {k: v for k, v in changes.items() if row._mapping[k] != v}
    if "event_types" in values:
        values["event_types"] = check_event_types(values["event_types"])
    if values.get("category_id") is not None:
        _check_category(tx.conn, values["category_id"])
    if values.get("mode") in ("active", "shadow"):
        values.update(disabled_at=None, disabled_reason=None, failing_since=None)
    if not values:
        return _public(row)
    tx.conn.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(**values, updated_at=tx.now))
    shown = {k: {"old": row._mapping[k], "new": v} for k, v in values.items() if k in changes and k != "url"}
    if "url" in values:
        shown["host"] = {"old": _host(row.url), "new": _host(values["url"])}
    tx.emit(
        "webhook.updated",
        aggregate_type="webhook",
        aggregate_id=webhook_id,
        data={"webhook_id": webhook_id, "changes": shown},
    )
    return get(tx.conn, webhook_id=webhook_id)


def delete(tx: Tx, *, webhook_id: int) -> None:
    """Delete a subscription with its deliveries and their attempts."""
    row = _row(tx.conn, webhook_id)
    tx.conn.execute(sql_delete(webhooks).where(webhooks.c.id == webhook_id))
    tx.emit(
        "webhook.deleted",
        aggregate_type="webhook",
        aggregate_id=webhook_id,
        data={"webhook_id": webhook_id, "host": _host(row.url)},
    )


def rotate(tx: Tx, *, keys: Keyring, webhook_id: int, overlap: timedelta) -> dict[str, Any]:
    """A new secret; the current one keeps signing beside it for `overlap`. Returns the new secret, this once."""
    row = _row(tx.conn, webhook_id)
    secret = new_secret()
    until = tx.now + overlap
    tx.conn.execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id)
        .values(
            secret=keys.encrypt(secret),
            previous_secret=row.secret if overlap > timedelta(0) else None,
            previous_secret_until=until if overlap > timedelta(0) else None,
            updated_at=tx.now,
        )
    )
    tx.emit(
        "webhook.secret_rotated",
        aggregate_type="webhook",
        aggregate_id=webhook_id,
        data={"webhook_id": webhook_id, "previous_valid_until": until},
    )
    return {"secret": secret, "previous_valid_until": until if overlap > timedelta(0) else None}


def signing_secrets(keys: Keyring, subscription: Subscription, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous one during a rotation's overlap.

    BadSecret when no key opens the current one; a previous one no key opens is left out, so that rotating
    the secret mends a subscription whose key was dropped."""
    found = [keys.decrypt(subscription.secret)]
    until = subscription.previous_secret_until
    if subscription.previous_secret is not None and until is not None and now < until:
        with contextlib.suppress(BadSecret):
            found.append(keys.decrypt(subscription.previous_secret))
    return found


_CANDIDATES = select(
    events.c.event_id,
    events.c.seq,
    events.c.event_type.label("type"),
    events.c.aggregate_type,
    events.c.aggregate_id,
)


def replay(
    tx: Tx, *, webhook_id: int, after: int | None = None, since: datetime | None = None, event_id: str | None = None
) -> int:
    """Deliver again (with the same webhook-id) one event, or every wanted event after a log position or from a
    time up to where the subscription has read; returns how many deliveries were scheduled."""
    subscription = subscription_of(_row(tx.conn, webhook_id))
    if event_id is not None:
        rows = tx.conn.execute(_CANDIDATES.where(events.c.event_id == event_id)).all()
        if not rows:
            raise NotFound(f"event {event_id} not found")
    else:
        txid, seq = subscription.cursor
        read = events.c.seq <= seq
        if tx.conn.dialect.name == "postgresql":
            read = tuple_(events.c.txid, events.c.seq) <= tuple_(literal(txid), literal(seq))
        start = events.c.seq > after if after is not None else events.c.timestamp >= since
        rows = tx.conn.execute(_CANDIDATES.where(start, read).order_by(events.c.seq).limit(REPLAY_LIMIT)).all()
    chosen = deliveries.wanted(tx.conn, subscription, rows)
    scheduled = deliveries.reset(tx, webhook_id=webhook_id, rows=chosen)
    tx.emit(
        "webhook.replayed",
        aggregate_type="webhook",
        aggregate_id=webhook_id,
        data={"webhook_id": webhook_id, "scheduled": scheduled, "after": after, "since": since, "event_id": event_id},
    )
    return scheduled
