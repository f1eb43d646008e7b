"""The WebSocket `/api/ws` against a real server on a real port: order, resume, visibility, slow clients."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from tests.conftest import Harness, User
from tests.served import served
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from nixflow.app import create_app
from nixflow.config import Settings
from nixflow.domain.envelope import EventRecord
from nixflow.services import tickets
from nixflow.services.users import principal_of
from nixflow.store import event_log
from nixflow.store.db import Tx
from nixflow.store.tables import api_tokens, users

TIMEOUT = 10


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[Harness]:
    """NixFlow served by uvicorn on a free port; the harness's client talks to it over TCP."""
    app = create_app(settings)
    async with served(app) as base_url, httpx.AsyncClient(base_url=base_url) as client:
        yield Harness(app, client)


def ws_url(h: Harness, user: User, after: str | None = None, *, pages: bool = False) -> str:
    url = str(h.client.base_url).replace("http://", "ws://") + f"/api/ws?token={user.token}"
    return url + (f"&after={after}" if after else "") + ("&pages=1" if pages else "")


def messages_of(frame: str | bytes, *, pages: bool) -> list[dict[str, Any]]:
    """The messages of a frame: a page (a JSON array) for a client that asked for pages, else one message."""
    data = json.loads(frame)
    if isinstance(data, list):
        assert pages, "a page sent to a client that asked for one frame per event"
        return data
    assert not (pages and "event_id" in data), "an event sent outside a page"
    return [data]


async def receive_until(ws: ClientConnection, done: Any, *, pages: bool = False) -> list[dict[str, Any]]:
    """Envelopes received until `done(envelope)` is true for one (heartbeats skipped)."""
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(TIMEOUT):
        while True:
            for message in messages_of(await ws.recv(), pages=pages):
                if "event_id" not in message:
                    continue
                got.append(message)
                if done(message):
                    return got


async def open_ticket(h: Harness, user: User, title: str = "Printer jammed") -> dict[str, Any]:
    response = await h.client.post("/api/tickets", json={"title": title, "description": "help"}, headers=user.headers)
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


async def comment(h: Harness, user: User, ticket_id: int, body: str, internal: bool = False) -> None:
    response = await h.client.post(
        f"/api/tickets/{ticket_id}/comments", json={"body": body, "internal": internal}, headers=user.headers
    )
    assert response.status_code == 201, response.text


def log_after(conn: Any, event_id: str) -> list[EventRecord]:
    """The log after an event, in the order every reader of the log sees it."""
    position = event_log.position_of(conn, event_id)
    assert position is not None
    records: list[EventRecord] = []
    while True:
        page, position = event_log.after(conn, position, limit=500)
        records += page
        if len(page) < 500:
            return records


def is_comment(body: str) -> Any:
    return lambda e: e["type"] == "ticket.commented" and e["data"]["body"] == body


async def test_unauthenticated_handshake_is_refused(live: Harness) -> None:
    url = str(live.client.base_url).replace("http://", "ws://") + "/api/ws"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url):
            pass
    assert refused.value.response.status_code == 401
    with pytest.raises(InvalidStatus):
        async with connect(url + "?token=not-a-token"):
            pass


@pytest.mark.parametrize("pages", [False, True], ids=["per-event", "pages"])
async def test_events_arrive_once_each_in_commit_order(live: Harness, pages: bool) -> None:
    agent = await live.user("agent")
    requester = await live.user("requester")
    async with connect(ws_url(live, agent, pages=pages)) as ws:
        ticket = await open_ticket(live, requester)
        for n in range(5):
            await comment(live, agent, ticket["id"], f"step {n}")
        got = await receive_until(ws, is_comment("step 4"), pages=pages)
    logged = [e["event_id"] for e in await live.events(aggregate_type="ticket", aggregate_id=str(ticket["id"]))]
    pushed = [e["event_id"] for e in got if e["aggregate_type"] == "ticket" and e["aggregate_id"] == str(ticket["id"])]
    assert pushed == logged[: len(pushed)]
    assert len(pushed) == len(set(pushed)) >= 6
    assert got[0]["type"] == "ticket.created" and got[0]["data"]["title"] == "Printer jammed"
    assert set(got[0]) >= {"event_id", "type", "category", "priority", "status", "timestamp", "data", "metadata"}


@pytest.mark.parametrize("pages", [False, True], ids=["per-event", "pages"])
async def test_resume_after_an_id_misses_nothing_and_repeats_nothing(live: Harness, pages: bool) -> None:
    admin = await live.user("admin")
    requester = await live.user("requester")
    ticket = await open_ticket(live, requester)
    await comment(live, admin, ticket["id"], "before the disconnect")
    mark = (await live.events(type="ticket.commented"))[-1]["event_id"]

    async def keep_writing() -> None:
        for n in range(40):
            await comment(live, admin, ticket["id"], f"while away {n}")

    writing = asyncio.create_task(keep_writing())
    await asyncio.sleep(0.05)  # reconnect while writes are still committing
    async with connect(ws_url(live, admin, after=mark, pages=pages)) as ws:
        await writing
        got = await receive_until(ws, is_comment("while away 39"), pages=pages)
    ids = [e["event_id"] for e in got]
    assert len(ids) == len(set(ids)), "an event was sent twice"
    logged = await live.nixflow.db.read(lambda conn: log_after(conn, mark))
    # Everything, for an admin, but the requester's notifications: those go to their recipient only.
    expected = [r.event_id for r in logged if r.category != "notification" or r.data.get("recipient_id") == admin.id]
    assert ids == expected[: len(ids)], "not in log order, or an event is missing"
    assert is_comment("while away 39")(got[-1])


async def test_unknown_resume_point_asks_the_client_to_resync(live: Harness) -> None:
    agent = await live.user("agent")
    async with connect(ws_url(live, agent, after="0190aaaa-0000-7000-8000-000000000000")) as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT)) == {"type": "resync"}
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), TIMEOUT)


@pytest.mark.parametrize("pages", [False, True], ids=["per-event", "pages"])
async def test_requesters_see_only_their_own_tickets_and_no_internal_comments(live: Harness, pages: bool) -> None:
    agent = await live.user("agent")
    alice = await live.user("requester")
    bob = await live.user("requester")
    first = (await live.events())[-1]["event_id"]
    async with connect(ws_url(live, alice, pages=pages)) as ws, connect(ws_url(live, bob, pages=pages)) as bobs_ws:
        bobs = await open_ticket(live, bob, "Bob's secret")
        await comment(live, agent, bobs["id"], "for bob")
        mine = await open_ticket(live, alice, "Alice's laptop")
        await comment(live, agent, mine["id"], "staff only: check warranty", internal=True)
        await comment(live, agent, mine["id"], "we are on it")
        got = await receive_until(ws, is_comment("we are on it"), pages=pages)
        await comment(live, agent, bobs["id"], "the last one")
        bob_got = await receive_until(bobs_ws, is_comment("the last one"), pages=pages)
    assert {e["aggregate_id"] for e in got} == {str(mine["id"])}
    assert {e["aggregate_id"] for e in bob_got} == {str(bobs["id"])}
    assert "Alice" not in json.dumps(bob_got) and "staff only" not in json.dumps(bob_got)
    assert all(not e["data"].get("internal") for e in got)
    assert all(e["category"] in ("ticket", "sla") for e in got)
    assert "staff only" not in json.dumps(got)
    # The same holds for what a resume replays from the log.
    async with connect(ws_url(live, alice, after=first, pages=pages)) as ws:
        replayed = await receive_until(ws, is_comment("we are on it"), pages=pages)
    assert [e["event_id"] for e in replayed] == [e["event_id"] for e in got]


async def test_a_requester_is_pushed_the_conversation_and_status_changes_without_internals(live: Harness) -> None:
    agent = await live.user("agent")
    alice = await live.user("requester")
    async with connect(ws_url(live, alice)) as ws:
        mine = await open_ticket(live, alice, "Core switch is down")  # a default rule makes it critical
        await live.settle()
        path = f"/api/tickets/{mine['id']}"
        for status in ("open", "pending"):  # pending pauses the SLA clock
            moved = await live.client.post(f"{path}/transition", json={"status": status}, headers=agent.headers)
            assert moved.status_code == 200, moved.text
        await comment(live, agent, mine["id"], "we are on it")
        got = await receive_until(ws, is_comment("we are on it"))
    assert "ticket.priority_changed" in {e["type"] for e in await live.events(aggregate_id=str(mine["id"]))}
    assert [e["type"] for e in got] == [
        "ticket.created",
        "ticket.status_changed",
        "ticket.status_changed",
        "ticket.commented",
    ]
    pushed = json.dumps(got)
    for internal in ("rule_id", "rule_name", "_due", "approval", "sla"):
        assert internal not in pushed, internal


async def test_heartbeats_keep_an_idle_connection_talking(live: Harness) -> None:
    agent = await live.user("agent")
    live.nixflow.hub.heartbeat_seconds = 0.1
    async with connect(ws_url(live, agent)) as ws:
        message = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    assert message["type"] == "heartbeat"


async def stalled_client(h: Harness, user: User, *, pages: bool = False) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads again, with a tiny receive buffer."""
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    host, port = h.client.base_url.host, h.client.base_url.port
    await loop.sock_connect(sock, (host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /api/ws?token={user.token}{'&pages=1' if pages else ''} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += await loop.sock_recv(sock, 1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


async def read_to_close(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or sends its close frame)."""
    loop = asyncio.get_running_loop()
    data = b""
    async with asyncio.timeout(TIMEOUT):
        while chunk := await loop.sock_recv(sock, 65536):
            data += chunk
            if CLOSE_RESYNC_FRAME in data[-64:]:
                break
    return data


CLOSE_RESYNC_FRAME = b"\x88\x02\x0f\xa0"  # a close frame with code 4000


@pytest.mark.parametrize("pages", [False, True], ids=["per-event", "pages"])
async def test_a_client_that_falls_behind_is_told_to_resync_and_others_carry_on(live: Harness, pages: bool) -> None:
    admin = await live.user("admin")
    requester = await live.user("requester")
    ticket = await open_ticket(live, requester)
    hub = live.nixflow.hub
    hub.queue_size = 600  # more than a page of the log tailer, which hands events over a page at a time
    big = "x" * 19_000

    def many_comments(tx: Tx, round_no: int) -> None:
        row = tx.conn.execute(users.select().where(users.c.id == admin.id)).one()
        for n in range(10):
            tickets.add_comment(tx, actor=principal_of(row), ticket_id=ticket["id"], body=f"{round_no}.{n} {big}")

    slow = await stalled_client(live, admin, pages=pages)
    async with connect(ws_url(live, admin, pages=pages)) as fast:
        received: list[dict[str, Any]] = []
        target: dict[str, str] = {}
        caught_up = asyncio.Event()

        async def read_fast() -> None:
            while True:
                for message in messages_of(await fast.recv(), pages=pages):
                    if "event_id" in message:
                        received.append(message)
                        if message["event_id"] == target.get("last"):
                            caught_up.set()

        reader = asyncio.create_task(read_fast())
        subscribers = list(hub.subscribers)
        assert len(subscribers) == 2
        rounds = 0
        while not any(s.overflowed for s in subscribers) and rounds < 300:
            await live.write(lambda tx, r=rounds: many_comments(tx, r))
            rounds += 1
        assert [s.overflowed for s in subscribers].count(True) == 1, "exactly the stalled client falls behind"
        target["last"] = (await live.events(type="ticket.commented"))[-1]["event_id"]
        if received and received[-1]["event_id"] == target["last"]:
            caught_up.set()
        await asyncio.wait_for(caught_up.wait(), TIMEOUT)
        reader.cancel()
    commented = [e for e in received if e["type"] == "ticket.commented"]
    assert len(commented) == rounds * 10, "the fast client missed events"
    tail = await read_to_close(slow)
    slow.close()
    assert tail.endswith(b'{"type": "resync"}' + CLOSE_RESYNC_FRAME)
    assert tail.count(b'"ticket.commented"') < rounds * 10


async def closed_with(ws: ClientConnection) -> tuple[list[str], int | None]:
    """The control messages (`type`s, heartbeats skipped) a connection got before it closed, and its close code."""
    kinds: list[str] = []
    async with asyncio.timeout(TIMEOUT):
        try:
            while True:
                message = json.loads(await ws.recv())
                if "event_id" not in message and message["type"] != "heartbeat":
                    kinds.append(message["type"])
        except ConnectionClosed as closed:
            return kinds, closed.rcvd.code if closed.rcvd else None


async def test_signing_out_closes_that_users_open_connections(live: Harness) -> None:
    agent = await live.user("agent")
    other = await live.user("agent")
    async with connect(ws_url(live, agent)) as mine, connect(ws_url(live, other)) as theirs:
        response = await live.client.post("/api/auth/logout", headers=agent.headers)
        assert response.status_code == 204
        assert await closed_with(mine) == (["signed_out"], 4401)
        # Nobody else is touched: the other agent still gets the next event.
        requester = await live.user("requester")
        ticket = await open_ticket(live, requester)
        got = await receive_until(theirs, lambda e: e["aggregate_id"] == str(ticket["id"]))
        assert got[-1]["aggregate_id"] == str(ticket["id"])
    # And the revoked token cannot open a new one.
    with pytest.raises(InvalidStatus) as refused:
        async with connect(ws_url(live, agent)):
            pass
    assert refused.value.response.status_code == 401


async def test_revoking_a_token_or_deactivating_the_user_closes_the_connection(live: Harness) -> None:
    admin = await live.user("admin")
    agent = await live.user("agent")
    response = await live.client.post("/api/auth/tokens", headers=agent.headers)
    assert response.status_code == 201
    second = User(agent.id, agent.email, response.json()["token"], {})
    token_id = response.json()["id"]
    async with connect(ws_url(live, second)) as by_second, connect(ws_url(live, agent)) as by_first:
        response = await live.client.delete(f"/api/auth/tokens/{token_id}", headers=agent.headers)
        assert response.status_code == 204
        assert await closed_with(by_second) == (["signed_out"], 4401)
        response = await live.client.patch(f"/api/users/{agent.id}", json={"active": False}, headers=admin.headers)
        assert response.status_code == 200, response.text
        assert await closed_with(by_first) == (["signed_out"], 4401)


async def test_a_role_change_makes_the_client_start_again_with_its_new_view(live: Harness) -> None:
    admin = await live.user("admin")
    agent = await live.user("agent")
    async with connect(ws_url(live, agent)) as ws:
        response = await live.client.patch(f"/api/users/{agent.id}", json={"role": "requester"}, headers=admin.headers)
        assert response.status_code == 200, response.text
        assert await closed_with(ws) == (["resync"], 4000)


async def test_a_connection_ends_when_its_token_expires(live: Harness) -> None:
    agent = await live.user("agent")
    live.nixflow.hub.recheck_seconds = 0.2
    async with connect(ws_url(live, agent)) as ws:
        await live.write(
            lambda tx: tx.conn.execute(
                api_tokens.update().where(api_tokens.c.user_id == agent.id).values(expires_at=tx.now)
            )
        )
        assert await closed_with(ws) == (["signed_out"], 4401)


async def ws_ticket_url(h: Harness, user: User) -> str:
    response = await h.client.post("/api/ws/ticket", headers=user.headers)
    assert response.status_code == 201, response.text
    assert response.json()["expires_in"] == 30
    return str(h.client.base_url).replace("http://", "ws://") + f"/api/ws?ticket={response.json()['ticket']}"


async def test_a_ticket_opens_one_connection_and_it_ends_with_the_credential_that_asked(live: Harness) -> None:
    agent = await live.user("agent")
    requester = await live.user("requester")
    url = await ws_ticket_url(live, agent)
    async with connect(url) as ws:
        ticket = await open_ticket(live, requester)
        got = await receive_until(ws, lambda e: e["aggregate_id"] == str(ticket["id"]))
        assert got[-1]["type"] == "ticket.created"
        # Used once: the same URL is refused now, while the first connection stays open.
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url):
                pass
        assert refused.value.response.status_code == 401
        assert (await live.client.post("/api/auth/logout", headers=agent.headers)).status_code == 204
        assert await closed_with(ws) == (["signed_out"], 4401)
    assert (await live.client.post("/api/ws/ticket", headers=agent.headers)).status_code == 401


async def test_a_forged_ticket_is_refused(live: Harness) -> None:
    url = str(live.client.base_url).replace("http://", "ws://") + "/api/ws?ticket=forged"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url):
            pass
    assert refused.value.response.status_code == 401
