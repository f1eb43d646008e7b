"""Tickets: open, list, read, change, move, comment, approve, timeline."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Header, Query, Response

from nixflow.api.deps import App, ApproverUser, Ctx, CurrentUser, GuardedRoute, PathId, Source
from nixflow.api.queue_filter import QueueFilter
from nixflow.api.schemas import (
    AttachmentRead,
    CommentCreate,
    CommentRead,
    DecisionRequest,
    EventRead,
    TicketCreate,
    TicketListItem,
    TicketPage,
    TicketRead,
    TicketSubmit,
    TicketSubmitRead,
    TicketUpdate,
    TransitionRequest,
)
from nixflow.domain.fields import FieldDefinition
from nixflow.domain.tickets import Status
from nixflow.domain.values import Priority
from nixflow.services import (
    attachments,
    field_definitions,
    idempotency,
    reply_collision,
    ticket_fields,
    ticket_history,
    ticket_order,
    ticket_queries,
    ticket_reads,
    ticket_submit,
    tickets,
    visibility,
)
from nixflow.services.users import Principal
from nixflow.store import event_log
from nixflow.store.db import Tx
from nixflow.store.writer import ReadBack

router = APIRouter(prefix="/api/tickets", tags=["tickets"], route_class=GuardedRoute)


async def _read(app: App, ticket: dict[str, Any], viewer: Principal) -> TicketRead:
    return TicketRead(**tickets.public_to(viewer, ticket, shown=await _shown(app, viewer)))


async def _shown(app: App, viewer: Principal) -> dict[str, FieldDefinition]:
    """The custom fields a requester sees (staff see every one: nothing to read)."""
    return {} if viewer.is_staff else await app.db.read(field_definitions.requester_visible)


@router.post("", response_model=TicketRead, status_code=201)
async def create_ticket(
    body: TicketCreate,
    user: CurrentUser,
    app: App,
    ctx: Ctx,
    source: Source,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=255)] = None,
) -> Response:
    """Open a ticket. A repeated `Idempotency-Key` (same body, 24 h) answers with the first ticket."""

    def create(tx: Tx) -> ReadBack[dict[str, Any]]:
        def make() -> int:
            made = tickets.create(
                tx,
                requester=user,
                title=body.title,
                description=body.description,
                category_id=body.category_id,
                priority=Priority(body.priority or "normal"),
                requires_approval=body.requires_approval,
                channel=source,
                fields=body.fields,
            )
            return int(made["id"])

        if idempotency_key is None:
            return tickets.committed(tx, ticket_id=make())
        ticket_id, _ = idempotency.once(
            tx,
            user_id=user.id,
            key=idempotency_key,
            body_hash=idempotency.request_hash(body.model_dump()),
            create=make,
        )
        return tickets.committed(tx, ticket_id=ticket_id)

    # Built as a TicketRead once; returned as a response so FastAPI does not validate it a second time.
    ticket = await _read(app, await app.writer.run_read_back(create, ctx), user)
    return Response(ticket.model_dump_json(), status_code=201, media_type="application/json")


@router.get("", response_model=TicketPage)
async def list_tickets(
    user: CurrentUser,
    app: App,
    flt: QueueFilter,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(pattern=ticket_order.CURSOR_PATTERN)] = None,
    sort: Annotated[
        ticket_order.SortName,
        Query(description="Order: a key, '-' first for descending; ties by id, no due date or assignee last."),
    ] = "-id",
) -> TicketPage:
    """Tickets, newest first unless `sort` says otherwise; requesters see only their own, and those their
    organization shares with them."""
    order = ticket_order.Order.parse(sort)

    def read(conn: Any) -> TicketPage:
        shown = {} if user.is_staff else field_definitions.requester_visible(conn)
        items, next_cursor = ticket_queries.list_tickets(
            conn, viewer=user, flt=flt, limit=limit, cursor=cursor, order=order
        )
        marks = ticket_reads.unread(conn, viewer=user, ticket_ids=[t["id"] for t in items])
        return TicketPage(
            items=[TicketListItem(**tickets.public_to(user, t, shown=shown), unread=marks.get(t["id"])) for t in items],
            next_cursor=next_cursor,
        )

    return await app.db.read(read)


AsOf = Annotated[
    str | None,
    Query(
        pattern=ticket_history.AS_OF_PATTERN,
        max_length=64,
        description="An event id of this ticket, or an RFC 3339 time: the ticket as it stood right after that "
        "event, or at that time, rebuilt from its events. 404 for an event that is not this ticket's (or, for "
        "a requester, not a public one) and for a time before the ticket existed.",
    ),
]


# `{ticket_id:int}`: "ids" and "bulk" are not ticket ids, so OPTIONS and 405s there name only their own methods.
@router.get("/{ticket_id:int}", response_model=TicketRead)
async def get_ticket(
    ticket_id: PathId, user: CurrentUser, app: App, ctx: Ctx, background: BackgroundTasks, as_of: AsOf = None
) -> TicketRead:
    """One ticket (404 for another requester's); with `as_of`, as it stood then. Marks it seen for staff."""
    if as_of is None:
        found = await _read(
            app, await app.db.read(lambda conn: tickets.load(conn, ticket_id=ticket_id, viewer=user)), user
        )
        background.add_task(ticket_reads.note_look, app.db, app.writer, viewer=user, ticket_id=ticket_id, ctx=ctx)
        return found
    point = ticket_history.parse_point(as_of)
    return await _read(
        app,
        await app.db.read(lambda conn: ticket_history.as_of(conn, ticket_id=ticket_id, viewer=user, point=point)[0]),
        user,
    )


@router.patch("/{ticket_id:int}", response_model=TicketRead)
async def update_ticket(ticket_id: PathId, body: TicketUpdate, user: CurrentUser, app: App, ctx: Ctx) -> TicketRead:
    """Change fields, custom `fields` too (merged: a null clears one); 409 when `version` is stale."""
    changes = body.model_dump(exclude_unset=True, exclude={"version", "fields"})

    def change(tx: Tx) -> ReadBack[dict[str, Any]]:
        tickets.update_fields(tx, actor=user, ticket_id=ticket_id, version=body.version, changes=changes)
        if body.fields:
            ticket_fields.change(tx, actor=user, ticket_id=ticket_id, values=body.fields)
        return tickets.committed(tx, ticket_id=ticket_id)

    return await _read(app, await app.writer.run_read_back(change, ctx), user)


@router.post("/{ticket_id}/transition", response_model=TicketRead)
async def transition(ticket_id: PathId, body: TransitionRequest, user: CurrentUser, app: App, ctx: Ctx) -> TicketRead:
    """Move the ticket to another status; 409 if the move is not allowed."""

    def move(tx: Tx) -> ReadBack[dict[str, Any]]:
        tickets.transition(tx, actor=user, ticket_id=ticket_id, status=Status(body.status), version=body.version)
        return tickets.committed(tx, ticket_id=ticket_id)

    return await _read(app, await app.writer.run_read_back(move, ctx), user)


@router.post("/{ticket_id}/update", response_model=TicketSubmitRead)
async def submit(
    ticket_id: PathId, body: TicketSubmit, user: CurrentUser, app: App, ctx: Ctx, source: Source
) -> TicketSubmitRead:
    """Comment and change fields and status in one unit of work ("Send as Resolved"): comment first, then fields,
    then status (no 409 when the comment already moved it there). All or nothing; the same permissions as the
    single routes. Answers with the ticket as committed and the comment made."""
    said = body.comment
    reply = ticket_submit.Reply(said.body, said.internal, said.seen_comment_id) if said else None
    submission = ticket_submit.Submission(
        version=body.version,
        reply=reply,
        changes=body.model_dump(
            exclude_unset=True, include={"title", "description", "priority", "category_id", "assignee_id"}
        ),
        status=Status(body.status) if body.status else None,
        add_tags=tuple(body.add_tags or ()),
        remove_tags=tuple(body.remove_tags or ()),
        fields=body.fields or {},
        time=body.time.model_dump() if body.time else None,
    )

    def apply(tx: Tx) -> ReadBack[tuple[dict[str, Any], dict[str, Any] | None]]:
        comment = ticket_submit.submit(tx, actor=user, ticket_id=ticket_id, submission=submission, source=source)
        return ReadBack(lambda: (tickets.current(tx, ticket_id=ticket_id), comment))

    ticket, comment = await app.writer.run_read_back(apply, ctx)
    made = CommentRead(**comment, attachments=[]) if comment else None
    return TicketSubmitRead(ticket=await _read(app, ticket, user), comment=made)


@router.post("/{ticket_id}/comments", response_model=CommentRead, status_code=201)
async def add_comment(
    ticket_id: PathId, body: CommentCreate, user: CurrentUser, app: App, ctx: Ctx, source: Source
) -> CommentRead:
    """Comment; internal comments are for agents and admins only. Files: `POST .../attachments` with `comment_id`.
    With `seen_comment_id`, 409 when someone else commented in public after it (the new comments in `errors`)."""

    def add(tx: Tx) -> dict[str, Any]:
        reply_collision.check_seen(tx, actor=user, ticket_id=ticket_id, seen_comment_id=body.seen_comment_id)
        return tickets.add_comment(
            tx, actor=user, ticket_id=ticket_id, body=body.body, internal=body.internal, source=source
        )

    comment = await app.writer.run(add, ctx)
    return CommentRead(**comment, attachments=[])


@router.get("/{ticket_id}/comments", response_model=list[CommentRead])
async def list_comments(ticket_id: PathId, user: CurrentUser, app: App) -> list[CommentRead]:
    """The ticket's comments (requesters never see internal ones), each with its files and where it came from."""

    def read(conn: Any) -> list[CommentRead]:
        rows = tickets.list_comments(conn, viewer=user, ticket_id=ticket_id)
        files = attachments.by_comment(conn, (c["id"] for c in rows))
        return [CommentRead(**c, attachments=[AttachmentRead(**a) for a in files[c["id"]]]) for c in rows]

    return await app.db.read(read)


@router.post("/{ticket_id}/approve", response_model=TicketRead)
async def approve(
    ticket_id: PathId, user: ApproverUser, app: App, ctx: Ctx, body: DecisionRequest | None = None
) -> TicketRead:
    """Approve a ticket waiting for approval (admins and approvers)."""
    return await _decide(app, ctx, user, ticket_id, approve=True, reason=body.reason if body else None)


@router.post("/{ticket_id}/reject", response_model=TicketRead)
async def reject(
    ticket_id: PathId, user: ApproverUser, app: App, ctx: Ctx, body: DecisionRequest | None = None
) -> TicketRead:
    """Reject a ticket waiting for approval (admins and approvers)."""
    return await _decide(app, ctx, user, ticket_id, approve=False, reason=body.reason if body else None)


async def _decide(
    app: App, ctx: Ctx, user: ApproverUser, ticket_id: int, *, approve: bool, reason: str | None
) -> TicketRead:
    def decide(tx: Tx) -> ReadBack[dict[str, Any]]:
        tickets.decide_approval(tx, actor=user, ticket_id=ticket_id, approve=approve, reason=reason)
        return tickets.committed(tx, ticket_id=ticket_id)

    return await _read(app, await app.writer.run_read_back(decide, ctx), user)


@router.get("/{ticket_id}/events", response_model=list[EventRead])
async def timeline(ticket_id: PathId, user: CurrentUser, app: App) -> list[dict[str, Any]]:
    """The ticket's events in commit order, as far as the user may see them (a requester: the conversation and
    status changes, without rule, SLA or routing details)."""

    def read(conn: Any) -> list[dict[str, Any]]:
        ticket = tickets.load(conn, ticket_id=ticket_id, viewer=user)
        records = event_log.timeline(conn, "ticket", str(ticket_id))
        return [
            visibility.envelope_for(user, r)
            for r in records
            if visibility.may_see(user, r, tickets.audience_seen_by(user, ticket))
        ]

    return await app.db.read(read)
