"""Replay: make logged events deliverable again and send them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from nixflow.events.envelope import EventContext
from nixflow.store import deliveries, event_log

if TYPE_CHECKING:
    from nixflow.bootstrap import NixFlow

_CTX = EventContext(correlation_id="replay", actor_id=None, source="replay")


async def replay(app: NixFlow, event_ids: Sequence[str]) -> int:
    """Reset the events to `pending` and publish them; return how many exist."""
    count = await app.writer.run(lambda tx: deliveries.reset_for_replay(tx.conn, event_ids, tx.now), _CTX)
    if count:
        records = await app.db.read(lambda conn: event_log.find_by_ids(conn, event_ids))
        app.transport.publish(records)
    return count


async def replay_range(app: NixFlow, *, since: datetime, until: datetime) -> int:
    """Replay every event with a timestamp in [since, until)."""
    ids = await app.db.read(lambda conn: event_log.ids_in_range(conn, since=since, until=until))
    return await replay(app, ids) if ids else 0
