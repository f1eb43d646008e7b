"""Canned replies (`/api/replies`) and macros (`/api/macros`): staff only, scoped (personal, team, everyone);
rendering a reply, previewing and applying a macro on a ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field, StringConstraints

from nixflow.api.deps import App, Ctx, GuardedRoute, PathId, Source, StaffUser
from nixflow.api.schemas import CommentRead, FieldValues, Strict, TagList, TicketRead, TicketSubmitRead
from nixflow.domain.json_types import Id
from nixflow.domain.macros import Kind, Scope
from nixflow.domain.tickets import Status
from nixflow.domain.values import Priority
from nixflow.services import macros, tickets
from nixflow.services.macro_templates import MAX_LENGTH
from nixflow.store.db import Tx
from nixflow.store.writer import ReadBack

replies_router = APIRouter(prefix="/api/replies", tags=["replies"], route_class=GuardedRoute)
macros_router = APIRouter(prefix="/api/macros", tags=["macros"], route_class=GuardedRoute)
tickets_router = APIRouter(prefix="/api/tickets", tags=["tickets"], route_class=GuardedRoute)

# Not blank: the service trims both, and a blank one is no name and no text.
Name = Annotated[str, StringConstraints(strict=True, max_length=100, pattern=r"\S")]
Template = Annotated[
    str,
    StringConstraints(strict=True, max_length=MAX_LENGTH, pattern=r"\S"),
    Field(description="Text with variables: {{ ticket.title }}, {{ requester.name }}, {{ agent.name }}, ..."),
]
Search = Annotated[str | None, Query(max_length=100, description="Names containing this (case-insensitive)")]


class ReplyWrite(Strict):
    name: Name
    scope: Scope = Scope.PERSONAL
    category_id: Id | None = Field(default=None, description="The team's category (scope `team` only)")
    body: Template


class MacroActions(Strict):
    """The changes a macro makes; a field left out is left alone (`assignee_id`/`category_id` null: cleared)."""

    status: Status | None = None
    priority: Priority | None = None
    assignee_id: Id | None = None
    category_id: Id | None = None
    add_tags: TagList = []
    remove_tags: TagList = []
    fields: FieldValues = {}  # custom ticket fields, merged when applied (a null clears one)


class MacroWrite(Strict):
    name: Name
    scope: Scope = Scope.PERSONAL
    category_id: Id | None = Field(default=None, description="The team's category (scope `team` only)")
    body: Template | None = None
    internal: bool = Field(default=False, description="The reply is an internal note")
    actions: MacroActions = MacroActions()


class ReplyRead(BaseModel):
    id: int
    name: str
    scope: Scope
    category_id: int | None
    owner_id: int
    body: str | None
    created_at: datetime
    updated_at: datetime


class MacroRead(ReplyRead):
    internal: bool
    actions: dict[str, Any] = Field(description="The changes as saved: only the fields the macro sets")


class Rendered(BaseModel):
    body: str


class ApplyRequest(Strict):
    version: Id | None = Field(default=None, description="The ticket's version you saw (409 when stale)")


class MacroReplyPreview(BaseModel):
    body: str
    internal: bool


class MacroPreview(BaseModel):
    macro_id: int
    name: str
    ticket_id: int
    version: int = Field(description="The ticket's version: send it to apply what you previewed")
    reply: MacroReplyPreview | None
    changes: dict[str, Any] = Field(
        description="`{field: {old, new}}` for status, priority, assignee_id and category_id; add_tags, remove_tags; "
        "fields: `{key: {old, new}}` for the custom fields that would change"
    )


def _macro_fields(body: MacroWrite) -> dict[str, Any]:
    fields = body.model_dump(exclude={"actions"})
    actions = body.actions.model_dump(exclude_unset=True, mode="json")
    kept = {k: v for k, v in actions.items() if v is not None or k in ("assignee_id", "category_id")}
    fields["actions"] = {k: v for k, v in kept.items() if k != "fields" or v}
    return fields


@replies_router.get("", response_model=list[ReplyRead])
async def list_replies(user: StaffUser, app: App, q: Search = None) -> list[dict[str, Any]]:
    """The canned replies you may use (yours, your teams', everyone's), names starting with `q` first."""
    return await app.db.read(lambda conn: macros.listing(conn, viewer=user, kind=Kind.REPLY, q=q))


@replies_router.post("", response_model=ReplyRead, status_code=201)
async def create_reply(body: ReplyWrite, user: StaffUser, app: App, ctx: Ctx) -> dict[str, Any]:
    """Make a canned reply. Agents make personal ones; admins any scope. 422 naming what the template may not use."""
    fields = body.model_dump()
    return await app.writer.run(lambda tx: macros.create(tx, actor=user, kind=Kind.REPLY, fields=fields), ctx)


@replies_router.get("/{reply_id}", response_model=ReplyRead)
async def get_reply(reply_id: PathId, user: StaffUser, app: App) -> dict[str, Any]:
    """One canned reply you may use (404 for another's personal one, or another team's)."""
    return await app.db.read(lambda conn: macros.get(conn, viewer=user, kind=Kind.REPLY, item_id=reply_id))


@replies_router.put("/{reply_id}", response_model=ReplyRead)
async def update_reply(reply_id: PathId, body: ReplyWrite, user: StaffUser, app: App, ctx: Ctx) -> dict[str, Any]:
    """Replace a canned reply: yours, or (admins) a shared one; 403 for a shared one you may only use."""
    fields = body.model_dump()
    return await app.writer.run(
        lambda tx: macros.update(tx, actor=user, kind=Kind.REPLY, item_id=reply_id, fields=fields), ctx
    )


@replies_router.delete("/{reply_id}", status_code=204)
async def delete_reply(reply_id: PathId, user: StaffUser, app: App, ctx: Ctx) -> Response:
    """Delete a canned reply: yours, or (admins) a shared one."""
    await app.writer.run(lambda tx: macros.delete(tx, actor=user, kind=Kind.REPLY, item_id=reply_id), ctx)
    return Response(status_code=204)


@macros_router.get("", response_model=list[MacroRead])
async def list_macros(user: StaffUser, app: App, q: Search = None) -> list[dict[str, Any]]:
    """The macros you may use (yours, your teams', everyone's), names starting with `q` first."""
    return await app.db.read(lambda conn: macros.listing(conn, viewer=user, kind=Kind.MACRO, q=q))


@macros_router.post("", response_model=MacroRead, status_code=201)
async def create_macro(body: MacroWrite, user: StaffUser, app: App, ctx: Ctx) -> dict[str, Any]:
    """Make a macro: an optional reply and the changes it makes. Agents make personal ones; admins any scope."""
    fields = _macro_fields(body)
    return await app.writer.run(lambda tx: macros.create(tx, actor=user, kind=Kind.MACRO, fields=fields), ctx)


@macros_router.get("/{macro_id}", response_model=MacroRead)
async def get_macro(macro_id: PathId, user: StaffUser, app: App) -> dict[str, Any]:
    """One macro you may use (404 for another's personal one, or another team's)."""
    return await app.db.read(lambda conn: macros.get(conn, viewer=user, kind=Kind.MACRO, item_id=macro_id))


@macros_router.put("/{macro_id}", response_model=MacroRead)
async def update_macro(macro_id: PathId, body: MacroWrite, user: StaffUser, app: App, ctx: Ctx) -> dict[str, Any]:
    """Replace a macro: yours, or (admins) a shared one; 403 for a shared one you may only use."""
    fields = _macro_fields(body)
    return await app.writer.run(
        lambda tx: macros.update(tx, actor=user, kind=Kind.MACRO, item_id=macro_id, fields=fields), ctx
    )


@macros_router.delete("/{macro_id}", status_code=204)
async def delete_macro(macro_id: PathId, user: StaffUser, app: App, ctx: Ctx) -> Response:
    """Delete a macro: yours, or (admins) a shared one."""
    await app.writer.run(lambda tx: macros.delete(tx, actor=user, kind=Kind.MACRO, item_id=macro_id), ctx)
    return Response(status_code=204)


@tickets_router.post("/{ticket_id}/replies/{reply_id}/render", response_model=Rendered)
async def render_reply(ticket_id: PathId, reply_id: PathId, user: StaffUser, app: App) -> Rendered:
    """A canned reply's text for this ticket, variables filled in, for the reply box. Nothing is stored."""
    text = await app.db.read(lambda conn: macros.render_reply(conn, actor=user, ticket_id=ticket_id, reply_id=reply_id))
    return Rendered(body=text)


@tickets_router.post("/{ticket_id}/macros/{macro_id}/preview", response_model=MacroPreview)
async def preview_macro(ticket_id: PathId, macro_id: PathId, user: StaffUser, app: App) -> dict[str, Any]:
    """What applying the macro would do now: its reply as rendered and what would change. Nothing is stored."""
    return await app.db.read(lambda conn: macros.preview(conn, actor=user, ticket_id=ticket_id, macro_id=macro_id))


@tickets_router.post("/{ticket_id}/macros/{macro_id}/apply", response_model=TicketSubmitRead)
async def apply_macro(
    ticket_id: PathId,
    macro_id: PathId,
    user: StaffUser,
    app: App,
    ctx: Ctx,
    source: Source,
    body: ApplyRequest | None = None,
) -> TicketSubmitRead:
    """Apply the macro in one unit of work: `macro.applied`, and each change its ordinary event caused by it.
    409 when `version` is stale; any refusal (a closed ticket, an illegal move, a tag off the allow list) stores
    nothing. Answers with the ticket as committed and the comment made."""
    version = body.version if body else None

    def apply(tx: Tx) -> ReadBack[tuple[dict[str, Any], dict[str, Any] | None]]:
        comment = macros.apply_macro(
            tx, actor=user, ticket_id=ticket_id, macro_id=macro_id, expected_version=version, source=source
        )
        return ReadBack(lambda: (tickets.current(tx, ticket_id=ticket_id), comment))

    ticket, comment = await app.writer.run_read_back(apply, ctx)
    made = CommentRead(**comment, attachments=[]) if comment else None
    return TicketSubmitRead(ticket=TicketRead(**tickets.public_to(user, ticket)), comment=made)
