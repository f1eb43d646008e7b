"""The in-app side of notifications: a user's list, unread count, and marking read (`notification.read`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, func, select, update

from nixflow.domain.errors import NotFound
from nixflow.notifications import titles
from nixflow.store.db import Tx
from nixflow.store.event_log import decode_cursor, encode_cursor
from nixflow.store.tables import notifications

PUBLIC = (
    "id",
    "kind",
    "ticket_id",
    "event_id",
    "event_type",
    "rule_id",
    "reason",
    "title",
    "title_key",
    "title_params",
    "body",
    "read_at",
    "created_at",
)


def _mine(user_id: int) -> Any:
    return (notifications.c.recipient_id == user_id) & notifications.c.in_app.is_(True)


def list_page(
    conn: Connection, *, user_id: int, unread: bool, limit: int, cursor: str | None, locale: str
) -> tuple[list[dict[str, Any]], str | None]:
    """A user's in-app notifications, newest first, titled in `locale`, and the next page's cursor."""
    rows = conn.execute(page_of(user_id=user_id, unread=unread, limit=limit, cursor=cursor)).all()
    items = titles.localized([dict(r._mapping) for r in rows[:limit]], locale)
    return items, (encode_cursor(items[-1]["id"]) if len(rows) > limit else None)


def page_of(*, user_id: int, unread: bool, limit: int, cursor: str | None = None) -> Select[Any]:
    """The statement of a page of `list_page` (one row more than `limit`), as the plan tests explain it."""
    query = select(*(notifications.c[c] for c in PUBLIC)).where(_mine(user_id))
    if unread:
        query = query.where(notifications.c.read_at.is_(None))
    if cursor:
        query = query.where(notifications.c.id < decode_cursor(cursor))
    return query.order_by(notifications.c.id.desc()).limit(limit + 1)


def unread_count(conn: Connection, *, user_id: int) -> int:
    """How many in-app notifications the user has not read."""
    query = select(func.count()).select_from(notifications).where(_mine(user_id), notifications.c.read_at.is_(None))
    return int(conn.execute(query).scalar_one())


def _read(tx: Tx, user_id: int, ids: list[int]) -> None:
    if not ids:
        return
    tx.conn.execute(
        update(notifications)
        .where(notifications.c.id.in_(ids), notifications.c.read_at.is_(None))
        .values(read_at=tx.now)
    )
    for notification_id in ids:
        tx.emit(
            "notification.read",
            aggregate_type="notification",
            aggregate_id=notification_id,
            data={"notification_id": notification_id, "recipient_id": user_id},
        )


def mark_read(tx: Tx, *, user_id: int, notification_id: int) -> None:
    """Mark one of the user's notifications read (again: nothing changes); another's is NotFound."""
    row = tx.conn.execute(
        select(notifications.c.read_at).where(notifications.c.id == notification_id, _mine(user_id))
    ).first()
    if row is None:
        raise NotFound(f"notification {notification_id} not found")
    if row.read_at is None:
        _read(tx, user_id, [notification_id])


def mark_all_read(tx: Tx, *, user_id: int) -> int:
    """Mark every unread notification of the user read; return how many."""
    ids = [
        int(r[0])
        for r in tx.conn.execute(select(notifications.c.id).where(_mine(user_id), notifications.c.read_at.is_(None)))
    ]
    _read(tx, user_id, ids)
    return len(ids)
