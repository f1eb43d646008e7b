"""`/api/ws?pages=1`: each page of events in one JSON array frame, against a real server on a real port."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from tests.conftest import Harness
from tests.integration.test_ws import TIMEOUT, live, open_ticket, ws_url  # noqa: F401 - `live` is a fixture
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from nixflow.services import tickets
from nixflow.services.users import principal_of
from nixflow.store.db import Tx
from nixflow.store.tables import users


async def frames_until(ws: ClientConnection, last_body: str) -> list[Any]:
    """The frames with events, each as sent, until the one holding the comment `last_body` (heartbeats skipped)."""
    frames: list[Any] = []
    async with asyncio.timeout(TIMEOUT):
        while True:
            frame = json.loads(await ws.recv())
            if isinstance(frame, dict) and "event_id" not in frame:
                continue
            frames.append(frame)
            if last_body in json.dumps(frame):
                return frames


async def test_a_unit_of_work_is_one_frame_to_a_paged_client_and_one_frame_per_event_otherwise(
    live: Harness,  # noqa: F811
) -> None:
    agent = await live.user("agent")
    requester = await live.user("requester")
    ticket = await open_ticket(live, requester)
    await live.settle()

    def ten_comments(tx: Tx) -> None:
        row = tx.conn.execute(users.select().where(users.c.id == agent.id)).one()
        for n in range(10):
            tickets.add_comment(tx, actor=principal_of(row), ticket_id=ticket["id"], body=f"batch {n}")

    async with connect(ws_url(live, agent, pages=True)) as paged, connect(ws_url(live, agent)) as per_event:
        await live.write(ten_comments)
        pages = await frames_until(paged, "batch 9")
        singles = await frames_until(per_event, "batch 9")
    assert all(isinstance(frame, list) for frame in pages)
    assert all(isinstance(frame, dict) for frame in singles)
    [page] = [frame for frame in pages if "batch 0" in json.dumps(frame)]
    assert [e["data"]["body"] for e in page if e["type"] == "ticket.commented"] == [f"batch {n}" for n in range(10)]
    # The same events of the unit of work (up to its last comment), in the same order, either way.
    upto = 1 + next(i for i, e in enumerate(page) if e["data"].get("body") == "batch 9")
    assert [e["event_id"] for e in page[:upto]] == [e["event_id"] for e in singles[-upto:]]


@pytest.mark.parametrize("value", ["yes", "2", ""])
async def test_a_pages_value_other_than_0_or_1_is_refused(live: Harness, value: str) -> None:  # noqa: F811
    agent = await live.user("agent")
    with pytest.raises(InvalidStatus) as refused:
        async with connect(ws_url(live, agent) + f"&pages={value}"):
            pass
    assert refused.value.response.status_code == 400
    problem = json.loads(refused.value.response.body or b"{}")
    assert problem["status"] == 400 and "pages" in problem["detail"]
    assert not live.nixflow.hub.subscribers
