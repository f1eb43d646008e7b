"""PostgreSQL: plain statements a unit of work sends with its next statement, not on their own.

A savepoint's start (`SAVEPOINT x`, with the late release of the one before: `store.db.Tx.savepoint`) needs no
answer before the next statement is sent, so it waits in the pooled connection's `info` until then: a `Fast`
statement takes it into its pipeline (one round trip for both, `store.fast`); any other statement SQLAlchemy
executes on the connection sends it first (`install`). A savepoint that ends before anything was sent inside it
takes its start back (`withdraw`): nothing went to the server, nothing needs undoing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, event

_QUEUED = "nixflow_queued"


Info = dict[Any, Any]  # a pooled connection's `info`, taken while the connection is valid (an invalidated one
# refuses to give it)


def queue(info: Info, statements: list[str]) -> tuple[list[str], int]:
    """Add plain statements to send with the next one; returns where they are, for `withdraw`."""
    waiting: list[str] = info.setdefault(_QUEUED, [])
    mark = len(waiting)
    waiting.extend(statements)
    return waiting, mark


def withdraw(info: Info, place: tuple[list[str], int]) -> bool:
    """Take back statements `queue` added, and all queued after them, if none was sent yet; whether they were."""
    waiting, mark = place
    if info.get(_QUEUED) is not waiting or len(waiting) <= mark:
        return False
    del waiting[mark:]
    return True


def take_queued(info: Info) -> list[str]:
    """The statements waiting to be sent, now the caller's to send."""
    taken: list[str] = info.pop(_QUEUED, [])
    return taken


def send_queued(conn: Connection) -> None:
    """Send what is waiting, in one message (a simple query may hold several statements)."""
    waiting = take_queued(conn.info)
    if waiting:
        driver: Any = conn.connection.dbapi_connection
        driver.execute("; ".join(waiting))


def discard(info: Info) -> None:
    """Forget what is waiting (a new transaction, or a rollback that made it moot)."""
    info.pop(_QUEUED, None)


def install(engine: Engine) -> None:
    """Send what is waiting before any statement SQLAlchemy executes on `engine`'s connections."""

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Connection, *_args: Any) -> None:
        if conn.info.get(_QUEUED):
            send_queued(conn)
