"""Notifications over the WebSocket: a `{"type": "notification"}` message to the recipient, and to nobody else."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tests.conftest import Harness
from tests.integration.test_ws import live, messages_of, ws_url  # noqa: F401 - `live` is a fixture
from websockets.asyncio.client import ClientConnection, connect

TIMEOUT = 10


async def _until(ws: ClientConnection, done: Any, pages: bool) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(TIMEOUT):
        while True:
            for message in messages_of(await ws.recv(), pages=pages):
                got.append(message)
                if done(message):
                    return got


def _marker(body: str) -> Any:
    return lambda m: m.get("type") == "ticket.commented" and m["data"]["body"] == body


@pytest.mark.parametrize("pages", [False, True], ids=["per-event", "pages"])
async def test_the_recipient_alone_gets_the_notification_live(live: Harness, pages: bool) -> None:  # noqa: F811
    h = live
    admin, watcher, bystander = await h.user("admin"), await h.user("agent"), await h.user("agent")
    requester = await h.user("requester")
    opened = await h.client.post("/api/tickets", json={"title": "T", "description": "x"}, headers=requester.headers)
    ticket_id = opened.json()["id"]
    added = await h.client.post(
        f"/api/tickets/{ticket_id}/watchers", json={"user_id": watcher.id}, headers=watcher.headers
    )
    assert added.status_code == 201
    async with (
        connect(ws_url(h, watcher, pages=pages)) as mine,
        connect(ws_url(h, bystander, pages=pages)) as theirs,
        connect(ws_url(h, admin, pages=pages)) as admins,
        connect(ws_url(h, requester, pages=pages)) as requesters,
    ):
        said = await h.client.post(
            f"/api/tickets/{ticket_id}/comments", json={"body": "hello watcher"}, headers=requester.headers
        )
        assert said.status_code == 201
        got = await _until(mine, lambda m: m.get("type") == "notification", pages)
        [note] = [m for m in got if m.get("type") == "notification"]
        assert note["recipient_id"] == watcher.id and note["ticket_id"] == ticket_id and note["kind"] == "comments"
        listed = (await h.client.get("/api/notifications", headers=watcher.headers)).json()["items"]
        assert listed[0]["id"] == note["id"]
        # A later event every one of them sees marks the end: nobody else got a notification before it.
        await h.client.post(f"/api/tickets/{ticket_id}/comments", json={"body": "end"}, headers=admin.headers)
        for ws in (theirs, admins, requesters):
            seen = await _until(ws, _marker("end"), pages)
            leaked = [m for m in seen if m.get("type") == "notification" or m.get("category") == "notification"]
            assert leaked == [], leaked
