"""Presence over `/api/ws`, in both modes (scale-out: two API processes sharing PostgreSQL and Redis): two agents
on a ticket see each other arrive, type and leave; a requester neither announces presence nor reads it; frames for
a ticket one may not see, malformed frames and floods change nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from tests.conftest import Harness, User, make_settings
from tests.served import served
from websockets.asyncio.client import ClientConnection, connect

from nixflow.app import create_app
from nixflow.config import Settings
from nixflow.presence.hub import BURST, RATE_PER_SECOND
from nixflow.presence.store import MemoryPresence, Presence

TIMEOUT = 10
POLL = 0.2  # how often each process reads the others' presence (default 1 s)


@pytest.fixture
async def sites(mode: str, settings: Settings) -> AsyncIterator[tuple[Harness, str]]:
    """A served NixFlow (with a client) and the base URL of a second API process in scale-out mode (the same one
    in embedded mode, which has one process)."""
    fast = settings.model_copy(update={"presence_poll_seconds": POLL})
    app = create_app(fast)
    async with served(app) as first, httpx.AsyncClient(base_url=first) as client:
        if mode == "embedded":
            yield Harness(app, client), first
            return
        async with served(create_app(fast, run_worker=False, migrate=False)) as second:
            yield Harness(app, client), second


def ws_url(base_url: str, user: User) -> str:
    return base_url.replace("http://", "ws://") + f"/api/ws?token={user.token}"


async def announce(sock: ClientConnection, ticket_id: Any, *, typing: bool = False) -> None:
    await sock.send(json.dumps({"type": "presence", "ticket_id": ticket_id, "typing": typing}))


async def presence_until(sock: ClientConnection, ticket_id: int, people: list[tuple[int, bool]]) -> list[str]:
    """Presence frames received until one says `people` ((user id, typing), by name) are on the ticket."""
    frames: list[str] = []
    async with asyncio.timeout(TIMEOUT):
        while True:
            text = str(await sock.recv())
            message = json.loads(text)
            if message.get("type") != "presence":
                continue
            frames.append(text)
            shown = [(p["user_id"], p["typing"]) for p in message["people"]]
            if message["ticket_id"] == ticket_id and shown == people:
                return frames


async def open_ticket(h: Harness, requester: User) -> int:
    made = await h.client.post(
        "/api/tickets", json={"title": "VPN drops", "description": "hourly"}, headers=requester.headers
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def test_two_agents_see_each_other_and_a_requester_sees_nothing(sites: tuple[Harness, str]) -> None:
    h, elsewhere = sites
    ann, bob = await h.user("agent", name="Ann"), await h.user("agent", name="Bob")
    requester = await h.user("requester", name="Rita")
    ticket_id = await open_ticket(h, requester)
    here = str(h.client.base_url)
    async with (
        connect(ws_url(elsewhere, requester)) as rita,
        connect(ws_url(here, ann)) as ann_sock,
    ):
        await announce(rita, ticket_id, typing=True)  # a requester's socket cannot announce
        await announce(ann_sock, ticket_id)
        seen_by_ann = await presence_until(ann_sock, ticket_id, [])
        async with connect(ws_url(elsewhere, bob)) as bob_sock:
            await announce(bob_sock, ticket_id)
            seen_by_bob = await presence_until(bob_sock, ticket_id, [(ann.id, False)])
            seen_by_ann += await presence_until(ann_sock, ticket_id, [(bob.id, False)])
            await announce(bob_sock, ticket_id, typing=True)
            seen_by_ann += await presence_until(ann_sock, ticket_id, [(bob.id, True)])
            named = json.loads(seen_by_ann[-1])["people"]
            assert named == [{"user_id": bob.id, "name": "Bob", "typing": True}]
        seen_by_ann += await presence_until(ann_sock, ticket_id, [])  # Bob's tab closed: gone at once
        assert all(str(requester.id) not in json.dumps(json.loads(f)["people"]) for f in seen_by_ann + seen_by_bob)
        assert all(len(f) < 200 for f in seen_by_ann + seen_by_bob)  # the payload is tiny

        # The requester's socket got the ticket's events, and not one presence frame before this later one.
        answered = await h.client.post(
            f"/api/tickets/{ticket_id}/comments", json={"body": "On it"}, headers=ann.headers
        )
        assert answered.status_code == 201, answered.text
        got: list[dict[str, Any]] = []
        async with asyncio.timeout(TIMEOUT):
            while not got or got[-1].get("type") != "ticket.commented":
                got.append(json.loads(await rita.recv()))
        assert [m for m in got if m.get("type") == "presence"] == []


class CountingPresence(MemoryPresence):
    """The embedded store, counting the writes the hub makes."""

    def __init__(self) -> None:
        super().__init__()
        self.puts: list[tuple[int, Presence]] = []

    def put(self, ticket_id: int, presence: Presence, ttl_seconds: float) -> None:
        self.puts.append((ticket_id, presence))
        super().put(ticket_id, presence, ttl_seconds)


@pytest.fixture
async def embedded(sqlite_url: str) -> AsyncIterator[Harness]:
    """One served embedded NixFlow (the bounds are the hub's, the same in both modes)."""
    app = create_app(make_settings(sqlite_url, presence_poll_seconds=POLL))
    async with served(app) as base_url, httpx.AsyncClient(base_url=base_url) as client:
        yield Harness(app, client)


async def test_unseen_tickets_bad_frames_and_floods_change_nothing(embedded: Harness) -> None:
    h = embedded
    store = h.nixflow.presence.store = CountingPresence()
    ann, bob = await h.user("agent", name="Ann"), await h.user("agent", name="Bob")
    ticket_id = await open_ticket(h, await h.user("requester"))
    base = str(h.client.base_url)
    async with connect(ws_url(base, ann)) as ann_sock:
        for junk in (
            json.dumps({"type": "presence", "ticket_id": 999_999}),  # no such ticket
            "not json",
            json.dumps({"type": "presence", "ticket_id": str(ticket_id)}),
            json.dumps({"type": "presence", "ticket_id": ticket_id, "typing": "yes"}),
            json.dumps({"type": "presence", "ticket_id": ticket_id, "user_id": bob.id}),  # no speaking for others
            json.dumps({"type": "presence", "ticket_id": ticket_id, "pad": "x" * 300}),
        ):
            await ann_sock.send(junk)
        await announce(ann_sock, ticket_id)
        first = json.loads((await presence_until(ann_sock, ticket_id, []))[0])
        assert first["ticket_id"] == ticket_id  # nothing was said about the unknown ticket
        assert [(t, p.user_id, p.typing) for t, p in store.puts] == [(ticket_id, ann.id, False)]

        async with connect(ws_url(base, bob)) as bob_sock:
            await announce(bob_sock, ticket_id)
            await presence_until(ann_sock, ticket_id, [(bob.id, False)])
            flooding = asyncio.get_running_loop().time()
            for n in range(200):
                await announce(bob_sock, ticket_id, typing=n % 2 == 0)
        await presence_until(ann_sock, ticket_id, [])  # Bob's socket closed: nothing of his flood is left to write
        elapsed = asyncio.get_running_loop().time() - flooding
        bobs = [p for _, p in store.puts if p.user_id == bob.id]
        assert 2 <= len(bobs) <= 1 + BURST + RATE_PER_SECOND * elapsed + 1, (len(bobs), elapsed)
