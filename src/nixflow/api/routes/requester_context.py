"""Who asked: a ticket's requester and their other tickets, for the agent working on it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from nixflow.api.deps import App, GuardedRoute, PathId, StaffUser
from nixflow.services import requester_context

router = APIRouter(prefix="/api/tickets", tags=["tickets"], route_class=GuardedRoute)


class RequesterRead(BaseModel):
    id: int
    name: str
    email: str
    since: datetime  # when their account was made
    fields: dict[str, Any] = Field(default_factory=dict, description="Their custom user field values.")


class TicketLine(BaseModel):
    id: int
    title: str
    status: str
    priority: str
    updated_at: datetime


class RequesterContext(BaseModel):
    requester: RequesterRead
    open: list[TicketLine]  # their other new, open or pending tickets, newest first
    recent: list[TicketLine]  # their other resolved or closed tickets, newest first


@router.get("/{ticket_id}/requester-context", response_model=RequesterContext)
async def read_context(
    ticket_id: PathId, user: StaffUser, app: App, limit: Annotated[int, Query(ge=1, le=50)] = 5
) -> RequesterContext:
    """The ticket's requester (name, email, since when) with up to `limit` of their other open and of their other
    resolved or closed tickets. Agents and admins only."""
    found = await app.db.read(
        lambda conn: requester_context.context(conn, viewer=user, ticket_id=ticket_id, limit=limit)
    )
    return RequesterContext.model_validate(found)
