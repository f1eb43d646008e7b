"""Replay: make logged events deliverable again and send them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from nixflow.domain.envelope import EventContext
from nixflow.events.bus import Transport
from nixflow.store import deliveries, event_log
from nixflow.store.db import Database
from nixflow.store.writer import Writer


class Running(Protocol):
    """What a replay needs of a running NixFlow (`bootstrap.NixFlow`, which sits above this floor)."""

    writer: Writer
    db: Database
    transport: Transport


_CTX = EventContext(correlation_id="replay", actor_id=None, source="replay")


async def replay(app: Running, event_ids: Sequence[str]) -> int:
    """Reset the events to `pending` and publish them; return how many exist."""
    count = await app.writer.run(lambda tx: deliveries.reset_for_replay(tx.conn, event_ids, tx.now), _CTX)
    if count:
        records = await app.db.read(lambda conn: event_log.find_by_ids(conn, event_ids))
        app.transport.publish(records)
    return count


async def replay_range(app: Running, *, since: datetime, until: datetime) -> int:
    """Replay every event with a timestamp in [since, until)."""
    ids = await app.db.read(lambda conn: event_log.ids_in_range(conn, since=since, until=until))
    return await replay(app, ids) if ids else 0
