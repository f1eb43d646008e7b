"""`/api/ws`: every event the user may see, in commit order; `?after=<event_id>` replays what was missed first;
`?pages=1` sends each page of events as one JSON array frame instead of one frame per event."""

from __future__ import annotations

import asyncio
import json
import logging
from functools import partial
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel
from sqlalchemy import Connection
from starlette.websockets import WebSocketState

from nixflow.api.deps import App, Auth, GuardedRoute, credential_of
from nixflow.api.problems import problem
from nixflow.bootstrap import NixFlow
from nixflow.domain.envelope import EventRecord
from nixflow.live import RESYNC, LiveHub, Page, Subscriber, later_than, page_frame, texts_for, visible
from nixflow.observe import metrics
from nixflow.presence.hub import PresenceHub, Session
from nixflow.services import auth, ws_tickets
from nixflow.services.users import Principal
from nixflow.store import event_log

router = APIRouter(tags=["real time"], route_class=GuardedRoute)
log = logging.getLogger(__name__)

BACKLOG_PAGE = 500
RESYNC_MESSAGE = json.dumps({"type": "resync"})
SIGNED_OUT_MESSAGE = json.dumps({"type": "signed_out"})
CLOSE_RESYNC = 4000
CLOSE_SIGNED_OUT = 4401


class WsTicket(BaseModel):
    ticket: str
    expires_in: int


@router.post("/api/ws/ticket", response_model=WsTicket, status_code=201)
async def ws_ticket(credential: Auth, app: App) -> WsTicket:
    """A ticket for `/api/ws?ticket=...`: valid for 30 seconds, once. It keeps your token out of URLs (and so out of
    logs); the socket it opens ends with the credential that asked for it."""
    ticket = await anyio.to_thread.run_sync(lambda: ws_tickets.issue(app.ws_tickets, token_id=credential.token_id))
    return WsTicket(ticket=ticket, expires_in=ws_tickets.TICKET_SECONDS)


async def _authenticate(websocket: WebSocket, app: NixFlow) -> tuple[auth.Authenticated | None, bool]:
    """The handshake's credential (a ticket, `?token=`, a bearer header or the session cookie), and whether it
    came from the cookie."""
    now = app.clock()
    ticket = websocket.query_params.get("ticket")
    if ticket is not None:
        token_id = await anyio.to_thread.run_sync(ws_tickets.redeem, app.ws_tickets, ticket)
        if token_id is None:
            return None, False
        return await app.db.read(lambda conn: auth.authenticate_id(conn, token_id=token_id, now=now)), False
    credential = credential_of(websocket, query=True)
    if not credential.token or len(credential.token) > 512:
        return None, credential.from_cookie
    return await app.authenticate(credential.token), credential.from_cookie


def _same_origin(websocket: WebSocket) -> bool:
    # A cookie is sent by the browser whatever page opens the socket: only our own pages may use it.
    origin = websocket.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == websocket.headers.get("host")


async def _refuse(websocket: WebSocket, status: int, detail: str) -> None:
    try:
        await websocket.send_denial_response(problem(status, HTTPStatus(status).phrase, detail))
    except RuntimeError:  # the server cannot answer a handshake with a body: a plain refusal then
        await websocket.close(code=4000 + status)


def _messages(record: EventRecord, viewer: Principal) -> list[dict[str, Any]]:
    """The ASGI messages that send a record one frame per message (`live.texts_for`). The hub hands the same
    record to every client: they are made once per role, not once per connection."""
    key = f"asgi:{viewer.role.value}"
    messages: list[dict[str, Any]] | None = record.extra.get(key)
    if messages is None:
        messages = record.extra[key] = [{"type": "websocket.send", "text": t} for t in texts_for(viewer, record)]
    return messages


async def _send(websocket: WebSocket, pages: list[Page], viewer: Principal, *, paged: bool) -> None:
    """Send `pages`: as one JSON array frame to a client that asked for pages, else one frame per message."""
    if paged:
        await websocket.send({"type": "websocket.send", "text": page_frame(viewer, pages)})
        return
    for page in pages:
        for record in page.records:
            for message in _messages(record, viewer):
                await websocket.send(message)


def _paged(websocket: WebSocket) -> bool | None:
    """Whether the client asked for pages (`?pages=1`; `0` or none: one frame per event); None for another value."""
    return {"1": True, "0": False, None: False}.get(websocket.query_params.get("pages"))


@router.websocket("/api/ws")
async def live_events(websocket: WebSocket) -> None:
    """Push every visible event; resume after `?after=<event_id>` with no gap and no duplicate."""
    app: NixFlow = websocket.app.state.nixflow
    found, from_cookie = await _authenticate(websocket, app)
    if found is None:
        await _refuse(websocket, 401, "authentication required")
        return
    if from_cookie and not _same_origin(websocket):
        await _refuse(websocket, 403, "cross-origin WebSocket with a session cookie")
        return
    paged = _paged(websocket)
    if paged is None:
        await _refuse(websocket, 400, "pages must be 1 (one frame per page of events) or 0")
        return
    after = websocket.query_params.get("after")
    hub: LiveHub = app.hub
    # Subscribe before the client is told it is connected and before reading the backlog: nothing is lost.
    subscriber = hub.subscribe(found.principal)
    presence = app.presence.open(found.principal, subscriber.tell)
    receiver: asyncio.Task[None] | None = None
    metrics.WEBSOCKETS.inc()
    try:
        await websocket.accept()
        receiver = asyncio.create_task(_read_client(websocket, app.presence, presence))
        receiver.add_done_callback(lambda _: subscriber.close())
        sent_up_to: event_log.Position | None = None
        if after:
            sent_up_to = await _send_backlog(websocket, app, found.principal, after, paged=paged)
            if sent_up_to is None:
                await _close_resync(websocket)
                return
        await _send_live(websocket, app, subscriber, sent_up_to, token_id=found.token_id, paged=paged)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        metrics.WEBSOCKETS.dec()
        hub.unsubscribe(subscriber)
        if receiver is not None:
            receiver.cancel()
            await asyncio.gather(receiver, return_exceptions=True)  # its last store write is done
        if presence is not None:
            await app.presence.close(presence)


async def _read_client(websocket: WebSocket, hub: PresenceHub, presence: Session | None) -> None:
    """Read what the client sends, so a disconnect is noticed: presence frames go to the presence hub (a
    requester's have no session and are dropped), anything else is ignored."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if presence is not None and isinstance(text, str):
            await hub.receive(presence, text)


async def _send_backlog(
    websocket: WebSocket, app: NixFlow, viewer: Principal, after: str, *, paged: bool
) -> event_log.Position | None:
    """Send every visible event logged after `after`; the log position reached, or None for an unknown id."""
    if len(after) > 64:
        return None
    found = await app.db.read(lambda conn: event_log.position_of(conn, after))
    if found is None:
        return None
    position: event_log.Position = found
    while True:
        records, visible_records, position = await app.db.read(partial(_backlog_page, viewer=viewer, position=position))
        if visible_records:
            await _send(websocket, [Page(visible_records)], viewer, paged=paged)
        if len(records) < BACKLOG_PAGE:
            return position


def _backlog_page(
    conn: Connection, *, viewer: Principal, position: event_log.Position
) -> tuple[list[EventRecord], list[EventRecord], event_log.Position]:
    """The next page of the log after `position`, the part of it `viewer` may see, and the new position."""
    records, position = event_log.after(conn, position, limit=BACKLOG_PAGE)
    return records, visible(conn, viewer=viewer, records=records), position


async def _send_live(
    websocket: WebSocket,
    app: NixFlow,
    subscriber: Subscriber,
    sent_up_to: event_log.Position | None,
    *,
    token_id: int,
    paged: bool,
) -> None:
    """Send what the hub hands over, skipping what the backlog already sent (up to `sent_up_to`).

    The hub has already decided what this viewer may see. The connection lives only as long as its
    credential: after the viewer signs out, is revoked, deactivated or changes role (and every
    `recheck_seconds`, for expiry) the token is checked again. An idle connection gets a heartbeat every
    `heartbeat_seconds`. One timer per connection serves both, re-armed only when it fires.
    """
    viewer = subscriber.viewer
    hub: LiveHub = app.hub
    loop = asyncio.get_running_loop()
    heartbeat_at = loop.time() + hub.heartbeat_seconds
    recheck_at = loop.time() + hub.recheck_seconds
    timer_at = min(heartbeat_at, recheck_at)
    timer = loop.call_at(timer_at, subscriber.wake)
    try:
        while True:
            await subscriber.wait()
            if subscriber.closed:
                return
            now = loop.time()
            if subscriber.access_changed or now >= recheck_at:
                subscriber.access_changed = False
                recheck_at = now + hub.recheck_seconds
                if not await _still_allowed(websocket, app, viewer, token_id):
                    return
            batch = subscriber.take()
            pages = [page for page in batch if page is not RESYNC]
            if pages and sent_up_to is not None:
                # The hub may still be handing over events the backlog already sent: drop them, by log position.
                records = [r for page in pages for r in page.records]
                fresh = await app.db.read(partial(later_than, records=records, position=sent_up_to))
                pages = [Page(fresh)] if fresh else []
                sent_up_to = None if fresh else sent_up_to
            if pages:
                await _send(websocket, pages, viewer, paged=paged)
            if RESYNC in batch:
                await _close_resync(websocket)
                return
            notice = subscriber.take_notice()
            if notice is not None:
                await websocket.send_text(notice)
            now = loop.time()
            if batch or notice:
                heartbeat_at = now + hub.heartbeat_seconds
            elif now >= heartbeat_at:
                await websocket.send_text(json.dumps({"type": "heartbeat", "at": app.clock().isoformat()}))
                heartbeat_at = now + hub.heartbeat_seconds
            if now >= timer_at:
                timer.cancel()
                timer_at = min(heartbeat_at, recheck_at)
                timer = loop.call_at(timer_at, subscriber.wake)
    finally:
        timer.cancel()


async def _still_allowed(websocket: WebSocket, app: NixFlow, viewer: Principal, token_id: int) -> bool:
    """Check the connection's credential again; close the connection (and say why) if it no longer holds."""
    now = app.clock()
    found = await app.db.read(lambda conn: auth.authenticate_id(conn, token_id=token_id, now=now))
    if found is None:
        if websocket.application_state == WebSocketState.CONNECTED:
            await websocket.send_text(SIGNED_OUT_MESSAGE)
            await websocket.close(code=CLOSE_SIGNED_OUT)
        return False
    if found.principal.role != viewer.role:  # what the viewer may see has changed: start again
        await _close_resync(websocket)
        return False
    return True


async def _close_resync(websocket: WebSocket) -> None:
    """Tell the client to reload its state and reconnect, then close."""
    if websocket.application_state == WebSocketState.CONNECTED:
        await websocket.send_text(RESYNC_MESSAGE)
        await websocket.close(code=CLOSE_RESYNC)
