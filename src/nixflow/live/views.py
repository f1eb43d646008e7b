"""What a live client is sent: which events each viewer may see, and their text, made once per role and page."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from nixflow.domain.envelope import EventRecord
from nixflow.domain.values import Role
from nixflow.services import ticket_queries, visibility
from nixflow.services.users import Principal
from nixflow.store import event_log
from nixflow.store.tables import events


def ticket_id_of(record: EventRecord) -> int | None:
    """The ticket an event is about, if any."""
    if record.aggregate_type != "ticket" or not record.aggregate_id.isdigit():
        return None
    return int(record.aggregate_id)


def for_recipient(viewer: Principal, record: EventRecord) -> bool | None:
    """Live, a notification event goes to its recipient only, whatever the role (admins read them in the
    event log); None for every other event."""
    if record.category != "notification":
        return None
    return record.data.get("recipient_id") == viewer.id


def may_see_live(viewer: Principal, record: EventRecord, owners: dict[int, visibility.Audience]) -> bool:
    """Whether `viewer` may see `record` live; `owners`: who sees each ticket."""
    mine = for_recipient(viewer, record)
    return mine or (mine is None and visibility.may_see(viewer, record, owners.get(ticket_id_of(record) or -1)))


def visible(conn: Connection, *, viewer: Principal, records: Sequence[EventRecord]) -> list[EventRecord]:
    """The records `viewer` may see live (two queries for who sees their tickets)."""
    ids = sorted({t for r in records if (t := ticket_id_of(r)) is not None}) if viewer.role == Role.REQUESTER else []
    owners = ticket_queries.audience_of(conn, ids, [viewer.id])
    return [r for r in records if may_see_live(viewer, r, owners)]


def notification_message(record: EventRecord) -> dict[str, Any] | None:
    """For a new notification, the `{"type": "notification", ...}` message sent after its envelope."""
    if record.type != "notification.created":
        return None
    return {"type": "notification", "id": record.data["notification_id"], **record.data}


def personal(record: EventRecord) -> bool:
    """Whether two staff members may see `record` differently (a requester's view is always their own)."""
    return record.category == "notification" or visibility.is_personal(record)


def texts_for(viewer: Principal, record: EventRecord) -> list[str]:
    """The messages that send a record: its envelope as the viewer's role sees it, then, for a new notification,
    the `{"type": "notification"}` message. Made once per record and role, whoever asks."""
    key = f"ws:{viewer.role.value}"
    texts: list[str] | None = record.extra.get(key)
    if texts is None:
        texts = [json.dumps(visibility.envelope_for(viewer, record), default=str)]
        extra = notification_message(record)
        if extra is not None:
            texts.append(json.dumps(extra, default=str))
        record.extra[key] = texts
    return texts


class Page:
    """Events of the log one view keeps, shared by every subscriber with that view; its JSON array is made once."""

    __slots__ = ("_frames", "records")

    def __init__(self, records: list[EventRecord]) -> None:
        self.records = records
        self._frames: dict[Role, str] = {}

    def frame(self, viewer: Principal) -> str:
        """The page's messages as `viewer`'s role sees them, as one JSON array."""
        frame = self._frames.get(viewer.role)
        if frame is None:
            frame = self._frames[viewer.role] = (
                "[" + ",".join(t for r in self.records for t in texts_for(viewer, r)) + "]"
            )
        return frame


def page_frame(viewer: Principal, pages: Sequence[Page]) -> str:
    """One JSON array frame with every message of `pages`, in order (several when the client fell behind)."""
    if len(pages) == 1:
        return pages[0].frame(viewer)
    return "[" + ",".join(inner for page in pages if (inner := page.frame(viewer)[1:-1])) + "]"


def later_than(conn: Connection, *, records: Sequence[EventRecord], position: event_log.Position) -> list[EventRecord]:
    """The records that come after `position` in the log (a record no longer in the log counts as later)."""
    rows = conn.execute(
        select(events.c.event_id, events.c.txid, events.c.seq).where(
            events.c.event_id.in_([r.event_id for r in records])
        )
    )
    places = {r.event_id: (int(r.txid or 0), int(r.seq)) for r in rows}
    return [r for r in records if places.get(r.event_id, (2**63, 0)) > position]
