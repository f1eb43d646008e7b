"""Tickets that relate: merge one into another, split a comment off, and links (parent/child, related,
duplicate-of); the admins' link option."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from nixflow.api.deps import AdminUser, App, Ctx, CurrentUser, GuardedRoute, PathId, StaffUser
from nixflow.api.schemas import Strict, TicketRead
from nixflow.domain.json_types import MAX_ID, Id
from nixflow.domain.relations import LinkKind
from nixflow.domain.tickets import Status
from nixflow.services import ticket_links, ticket_merge, tickets
from nixflow.store.db import Tx
from nixflow.store.writer import ReadBack

router = APIRouter(prefix="/api/tickets", tags=["tickets"], route_class=GuardedRoute)
options_router = APIRouter(prefix="/api/links", tags=["tickets"], route_class=GuardedRoute)


class MergeRequest(Strict):
    """Merge the ticket of the path (the source) into `into` (the survivor). `version`, when given, must be the
    source's current one (else 409)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"into": 42}]})

    into: Id = Field(description="The survivor: the source's comments, files and watchers move to it.")
    version: Id | None = None


class SplitRequest(Strict):
    """Open a new ticket from one comment of the ticket of the path."""

    comment_id: Id
    title: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class LinkCreate(Strict):
    """Link the ticket of the path to `ticket_id`; `kind` as the ticket of the path sees it (`parent`: `ticket_id`
    is its parent; `child`: its child; `duplicate_of`: it duplicates `ticket_id`)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"ticket_id": 7, "kind": "child"}]})

    ticket_id: Id
    kind: LinkKind


class LinkRead(BaseModel):
    id: int
    kind: LinkKind = Field(description="As the ticket of the path sees the link.")
    ticket_id: int = Field(description="The other ticket.")
    title: str
    status: Status
    merged_into: int | None
    created_at: datetime


class LinkOptions(Strict):
    block_parent_close: StrictBool = Field(
        description="A parent cannot be resolved or closed while a child is open (409)."
    )


@router.post("/{ticket_id}/merge", response_model=TicketRead)
async def merge_ticket(ticket_id: PathId, body: MergeRequest, user: StaffUser, app: App, ctx: Ctx) -> TicketRead:
    """Merge this ticket into `into` (staff): its comments, files and watchers move there (each an event), it
    becomes a closed, read-only pointer (`merged_into`), `ticket.merged` on both. Answers the survivor. 409 when
    either is closed or merged, or for itself. There is no undo."""

    def merge(tx: Tx) -> ReadBack[dict[str, Any]]:
        ticket_merge.merge(tx, actor=user, source_id=ticket_id, target_id=body.into, version=body.version)
        return tickets.committed(tx, ticket_id=body.into)

    return TicketRead(**tickets.public_to(user, await app.writer.run_read_back(merge, ctx)))


@router.post("/{ticket_id}/split", response_model=TicketRead, status_code=201)
async def split_ticket(ticket_id: PathId, body: SplitRequest, user: StaffUser, app: App, ctx: Ctx) -> TicketRead:
    """Open a new ticket from one of this ticket's comments (staff), linked to it as `related`; answers the new
    ticket. 404 for a comment not on this ticket."""

    def split(tx: Tx) -> ReadBack[dict[str, Any]]:
        made = ticket_merge.split(tx, actor=user, ticket_id=ticket_id, comment_id=body.comment_id, title=body.title)
        return tickets.committed(tx, ticket_id=made)

    return TicketRead(**tickets.public_to(user, await app.writer.run_read_back(split, ctx)))


@router.get("/{ticket_id}/links", response_model=list[LinkRead])
async def list_links(ticket_id: PathId, user: CurrentUser, app: App) -> list[dict[str, Any]]:
    """The ticket's links, oldest first; a requester sees only links to tickets they may see."""
    return await app.db.read(lambda conn: ticket_links.links(conn, viewer=user, ticket_id=ticket_id))


@router.post("/{ticket_id}/links", response_model=LinkRead, status_code=201)
async def add_link(ticket_id: PathId, body: LinkCreate, user: StaffUser, app: App, ctx: Ctx) -> dict[str, Any]:
    """Link the ticket to another (staff); `ticket.linked` on both. Idempotent. 409 for itself, a cycle of
    parents, or when either was merged."""

    def link(tx: Tx) -> dict[str, Any]:
        return ticket_links.link(tx, actor=user, ticket_id=ticket_id, other_id=body.ticket_id, kind=body.kind)

    return await app.writer.run(link, ctx)


@router.delete("/{ticket_id}/links", status_code=204)
async def remove_links(
    ticket_id: PathId,
    user: StaffUser,
    app: App,
    ctx: Ctx,
    other: Annotated[int, Query(alias="ticket_id", ge=0, le=MAX_ID, description="The other ticket.")],
    kind: Annotated[LinkKind | None, Query(description="Only links of this kind (default: every one).")] = None,
) -> Response:
    """Remove the ticket's links to `ticket_id` (staff); `ticket.unlinked` on both for each. 404 when none."""

    def unlink(tx: Tx) -> int:
        return ticket_links.unlink(tx, actor=user, ticket_id=ticket_id, other_id=other, kind=kind)

    await app.writer.run(unlink, ctx)
    return Response(status_code=204)


@options_router.get("/options", response_model=LinkOptions)
async def get_options(user: StaffUser, app: App) -> dict[str, bool]:
    """The link options (staff: the ticket page says why a parent cannot be closed)."""
    return await app.db.read(ticket_links.options)


@options_router.put("/options", response_model=LinkOptions)
async def set_options(body: LinkOptions, user: AdminUser, app: App, ctx: Ctx) -> dict[str, bool]:
    """Set the link options (admins); `workflow.link_options_changed`."""

    def update(tx: Tx) -> dict[str, bool]:
        return ticket_links.set_options(tx, actor=user, block_parent_close=body.block_parent_close)

    return await app.writer.run(update, ctx)
