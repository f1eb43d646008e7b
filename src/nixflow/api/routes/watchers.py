"""Ticket watchers: agents watch tickets, requesters CC people by address on their own."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel

from nixflow.api.deps import App, Ctx, CurrentUser, GuardedRoute, PathId
from nixflow.api.schemas import NewEmail, Strict
from nixflow.domain.json_types import Id
from nixflow.notifications import watchers

router = APIRouter(prefix="/api/tickets", tags=["tickets"], route_class=GuardedRoute)


class WatcherById(Strict):
    """Agents and admins: watch (or add a watcher) by user id."""

    user_id: Id


class WatcherByEmail(Strict):
    """A requester, on their own ticket: CC someone by e-mail (staff: an existing user)."""

    email: NewEmail


WatcherCreate = WatcherById | WatcherByEmail


class WatcherRead(BaseModel):
    """A watcher; to a requester, the people they added are named by the address they typed."""

    user_id: int
    name: str
    email: str
    created_at: datetime


class WatcherAdded(BaseModel):
    """What was asked for: to a requester adding by email, the same whether or not the address has an account
    (`user_id` null), so the answer tells nobody who has one."""

    ticket_id: int
    user_id: int | None
    email: str | None


@router.get("/{ticket_id}/watchers", response_model=list[WatcherRead])
async def list_watchers(ticket_id: PathId, user: CurrentUser, app: App) -> list[WatcherRead]:
    """Who watches the ticket."""
    found = await app.db.read(lambda conn: watchers.list_watchers(conn, viewer=user, ticket_id=ticket_id))
    return [WatcherRead(**w) for w in found]


@router.post("/{ticket_id}/watchers", response_model=WatcherAdded, status_code=201)
async def add_watcher(ticket_id: PathId, body: WatcherCreate, user: CurrentUser, app: App, ctx: Ctx) -> WatcherAdded:
    """Watch a ticket (`user_id`: agents and admins), or CC someone by `email` (a requester, on theirs: an address
    without an account becomes a requester without a password, so the answer and the list are the same either
    way). 422 past `NIXFLOW_WATCHERS_MAX_PER_TICKET`; 429 past a requester's `NIXFLOW_WATCHERS_CC_PER_HOUR`."""
    bounds = watchers.Bounds.of(app.settings)
    user_id, email = _user_id(body), _email(body)
    added = await app.writer.run(
        lambda tx: watchers.add(tx, actor=user, ticket_id=ticket_id, user_id=user_id, email=email, bounds=bounds), ctx
    )
    return WatcherAdded(**added)


@router.delete("/{ticket_id}/watchers/{user_id}", status_code=204)
async def remove_watcher(ticket_id: PathId, user_id: PathId, user: CurrentUser, app: App, ctx: Ctx) -> Response:
    """Stop a user watching the ticket: staff anyone, anyone themselves, a requester the non-staff on theirs."""
    await app.writer.run(lambda tx: watchers.remove(tx, actor=user, ticket_id=ticket_id, user_id=user_id), ctx)
    return Response(status_code=204)


def _user_id(body: WatcherCreate) -> int | None:
    return body.user_id if isinstance(body, WatcherById) else None


def _email(body: WatcherCreate) -> str | None:
    return body.email if isinstance(body, WatcherByEmail) else None
