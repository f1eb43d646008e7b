"""What both engines' backups share: the error, the progress callback, and what a database holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, func, inspect, select

from nixflow.store.tables import attachments, events, tickets, users

Progress = Callable[[int, int], None]
"""Told (done, total) as a copy moves on; the unit is the engine's (pages on SQLite, tables on PostgreSQL)."""


class BackupError(Exception):
    """A backup or restore that cannot go on; its message is one line for the operator, and nothing was changed."""


def facts(conn: Connection) -> dict[str, Any]:
    """The schema revision and the counts a manifest records, read in `conn`'s transaction (one snapshot)."""
    revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    files, size = conn.execute(select(func.count(), func.coalesce(func.sum(func.length(attachments.c.data)), 0))).one()
    return {
        "schema_revision": revision,
        "counts": {
            "tickets": conn.execute(select(func.count()).select_from(tickets)).scalar_one(),
            "events": conn.execute(select(func.count()).select_from(events)).scalar_one(),
            "users": conn.execute(select(func.count()).select_from(users)).scalar_one(),
            "attachments": int(files),
            "attachment_bytes": int(size),
        },
        "last_event_seq": int(conn.execute(select(func.max(events.c.seq))).scalar() or 0),
    }


def table_count(conn: Connection) -> int:
    """How many tables the database holds: a restore goes only where there are none."""
    return len(inspect(conn).get_table_names())
