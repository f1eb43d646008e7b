"""Tags: the tags in use, the admins' allow list, and tagging a ticket (staff; requesters never see tags)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from nixflow.api.deps import AdminUser, App, Ctx, GuardedRoute, PathId, StaffUser
from nixflow.api.schemas import Strict, TagList, TagName, TagsChange, TicketRead
from nixflow.services import ticket_tags, tickets
from nixflow.store.db import Tx
from nixflow.store.writer import ReadBack

router = APIRouter(prefix="/api/tags", tags=["tags"], route_class=GuardedRoute)
tickets_router = APIRouter(prefix="/api/tickets", tags=["tickets"], route_class=GuardedRoute)


class TagCount(BaseModel):
    tag: str
    count: int


class AllowList(Strict):
    """The only tags agents and rules may put on tickets; empty: any tag."""

    tags: TagList


@router.get("", response_model=list[TagCount])
async def list_tags(user: StaffUser, app: App) -> list[dict[str, Any]]:
    """Every tag in use or allowed, with how many tickets have it, most used first (staff)."""
    return await app.db.read(ticket_tags.known)


@router.get("/allowed", response_model=AllowList)
async def get_allow_list(user: StaffUser, app: App) -> AllowList:
    """The admins' allow list (staff: the tag picker offers it); empty when any tag is allowed."""
    return AllowList(tags=await app.db.read(ticket_tags.allow_list))


@router.put("/allowed", response_model=AllowList)
async def set_allow_list(body: AllowList, user: AdminUser, app: App, ctx: Ctx) -> AllowList:
    """Replace the allow list (admins); an empty list allows any tag. Tags already on tickets stay."""
    tags = await app.writer.run(lambda tx: ticket_tags.set_allow_list(tx, actor=user, tags=body.tags), ctx)
    return AllowList(tags=tags)


@tickets_router.post("/{ticket_id}/tags", response_model=TicketRead)
async def add_tags(ticket_id: PathId, body: TagsChange, user: StaffUser, app: App, ctx: Ctx) -> TicketRead:
    """Put tags on the ticket (staff). Idempotent: tags it has already change nothing. 422 naming a malformed
    tag, one off the allow list, or one too many (at most 20); 409 when `version` is given and stale."""

    def tag(tx: Tx) -> ReadBack[dict[str, Any]]:
        ticket_tags.change(tx, actor=user, ticket_id=ticket_id, add=body.tags, version=body.version)
        return tickets.committed(tx, ticket_id=ticket_id)

    return TicketRead(**tickets.public_to(user, await app.writer.run_read_back(tag, ctx)))


@tickets_router.delete("/{ticket_id}/tags/{tag}", response_model=TicketRead)
async def remove_tag(ticket_id: PathId, tag: TagName, user: StaffUser, app: App, ctx: Ctx) -> TicketRead:
    """Take a tag off the ticket (staff). Idempotent: a tag it does not have changes nothing."""

    def untag(tx: Tx) -> ReadBack[dict[str, Any]]:
        ticket_tags.change(tx, actor=user, ticket_id=ticket_id, remove=[tag])
        return tickets.committed(tx, ticket_id=ticket_id)

    return TicketRead(**tickets.public_to(user, await app.writer.run_read_back(untag, ctx)))
