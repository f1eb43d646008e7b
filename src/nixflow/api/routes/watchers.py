"""Ticket watchers: agents watch tickets, requesters CC existing users on their own."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel

from nixflow.api.deps import App, Ctx, CurrentUser, GuardedRoute, PathId
from nixflow.api.schemas import Email, Strict
from nixflow.domain.json_types import Id
from nixflow.notifications import watchers

router = APIRouter(prefix="/api/tickets", tags=["tickets"], route_class=GuardedRoute)


class WatcherById(Strict):
    """Agents and admins: watch (or add a watcher) by user id."""

    user_id: Id


class WatcherByEmail(Strict):
    """A requester, on their own ticket: CC an existing user by e-mail."""

    email: Email


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
    """Watch a ticket (`user_id`: agents and admins), or CC an existing user by `email` (a requester, on theirs:
    the answer is the same whether or not the address has an account)."""
    added = await app.writer.run(
        lambda tx: watchers.add(tx, actor=user, ticket_id=ticket_id, user_id=_user_id(body), email=_email(body)), ctx
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
