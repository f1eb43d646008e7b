"""Time travel: a ticket as it stood right after any of its events, rebuilt from its events alone.

The events are the one source: each change event carries what it changed (and the SLA due times it left),
so folding a ticket's events in log order (`domain.ticket.fold`, the same `Ticket.apply` the write path
runs) gives its state at every point of its history. The same fold feeds rule simulation
(`automation/simulation.py`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from nixflow.domain.envelope import EventRecord
from nixflow.domain.errors import NotFound, ValidationFailed
from nixflow.domain.ticket import fold
from nixflow.services import tickets, visibility
from nixflow.services.users import Principal
from nixflow.store import event_log

_UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_TIME = (
    "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    "(\\.[0-9]{1,6})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
)
# An event id, or an RFC 3339 time with its offset: what `?as_of=` takes, as the OpenAPI schema says.
AS_OF_PATTERN = f"^({_UUID}|{_TIME})$"
_EVENT_ID = re.compile(f"^{_UUID}$")
_AS_OF = re.compile(AS_OF_PATTERN)

Point = str | datetime
"""A point of a ticket's history: right after an event (its id), or at an instant."""


def parse_point(value: str) -> Point:
    """An event id or an aware time; ValidationFailed for anything else (a day that does not exist too)."""
    if not _AS_OF.match(value):
        raise ValidationFailed("as_of must be an event id or an RFC 3339 time with its offset")
    if _EVENT_ID.match(value):
        return value.lower()
    try:
        return datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    except ValueError:
        raise ValidationFailed(f"as_of: {value!r} is not a time that exists") from None


def watchers_after(records: Iterable[EventRecord]) -> list[int]:
    """Who watched the ticket after these events of it (log order), in the order they started watching."""
    watching: dict[int, None] = {}
    for record in records:
        if record.type == "ticket.watcher_added":
            watching[int(record.data["watcher_id"])] = None
        elif record.type == "ticket.watcher_removed":
            watching.pop(int(record.data["watcher_id"]), None)
    return list(watching)


def as_of(
    conn: Connection, *, ticket_id: int, viewer: Principal, point: Point
) -> tuple[dict[str, Any], list[EventRecord]]:
    """The ticket right after event `point` (an id), or as it stood at instant `point`; and its events so far.

    NotFound for a ticket the viewer may not see, an event that is not this ticket's (or that the viewer may
    not see: a requester names only public events of their own ticket), and an instant before it existed.
    """
    now = tickets.load(conn, ticket_id=ticket_id, viewer=viewer)
    records = event_log.timeline(conn, "ticket", str(ticket_id))
    if isinstance(point, str):
        index = next((i for i, r in enumerate(records) if r.event_id == point), None)
        if index is None or not visibility.may_see(viewer, records[index], tickets.audience_seen_by(viewer, now)):
            raise NotFound(f"event {point} is not in the history of ticket {ticket_id}")
        upto = records[: index + 1]
    else:
        upto = list(itertools.takewhile(lambda r: r.timestamp <= point, records))
    ticket = fold(upto)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} did not exist at {point}")
    return ticket.as_row(), upto
