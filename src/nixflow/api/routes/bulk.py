"""Bulk actions: the ids of every ticket a filter matches, and one set of changes applied to many tickets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from nixflow.api.deps import App, Ctx, GuardedRoute, StaffUser
from nixflow.api.queue_filter import QueueFilter
from nixflow.api.schemas import PriorityName, StatusName, Strict, TagList
from nixflow.domain.json_types import Id
from nixflow.domain.tickets import Status
from nixflow.services import ticket_bulk, ticket_queries

router = APIRouter(prefix="/api/tickets", tags=["tickets"], route_class=GuardedRoute)

TicketKey = Annotated[str, Field(pattern=r"^[0-9]{1,15}$")]


class BulkActions(Strict):
    """What to change on every ticket; at least one. `assignee_id: null` unassigns."""

    status: StatusName | None = None
    priority: PriorityName | None = None
    assignee_id: Id | None = None
    category_id: Id | None = None
    add_tags: TagList | None = None
    remove_tags: TagList | None = None
    macro_id: Id | None = None  # applied after the other changes, in the same unit of work

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    @model_validator(mode="after")
    def _something(self) -> BulkActions:
        if not self.model_fields_set:
            raise ValueError("name at least one action")
        return self


class BulkRequest(Strict):
    """Tickets by id (each its own unit of work) and the actions; `expected_versions` (ticket id → version)
    makes a ticket changed meanwhile fail with 409 in its result (versions of tickets not in `ticket_ids` are not
    used)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ticket_ids": [12, 13],
                    "actions": {"status": "open", "add_tags": ["vpn"]},
                    "expected_versions": {"12": 4},
                }
            ]
        }
    )

    ticket_ids: list[Id] = Field(min_length=1, max_length=ticket_bulk.MAX_TICKETS)
    actions: BulkActions
    expected_versions: dict[TicketKey, Id] = Field(default_factory=dict, max_length=ticket_bulk.MAX_TICKETS)


class BulkError(BaseModel):
    status: int
    title: str
    detail: str


class BulkResult(BaseModel):
    """One ticket's result: `ok` with its new version, or the error that left it unchanged."""

    ticket_id: int
    ok: bool
    version: int | None = None
    error: BulkError | None = None


class BulkResponse(BaseModel):
    results: list[BulkResult]
    applied: int
    failed: int


class MatchingIds(BaseModel):
    """The ids of the tickets a filter matches (newest first, at most `limit`) and how many match in all."""

    ids: list[int]
    total: int


@router.get("/ids", response_model=MatchingIds)
async def matching_ids(
    user: StaffUser,
    app: App,
    flt: QueueFilter,
    limit: Annotated[int, Query(ge=1, le=ticket_bulk.MAX_TICKETS)] = ticket_bulk.MAX_TICKETS,
) -> MatchingIds:
    """The ids of every ticket the queue's filter matches (staff): "select all matching" before a bulk action."""
    ids, total = await app.db.read(lambda conn: ticket_queries.matching_ids(conn, viewer=user, flt=flt, limit=limit))
    return MatchingIds(ids=ids, total=total)


def _actions(body: BulkActions) -> ticket_bulk.Actions:
    changes = body.model_dump(exclude_unset=True, include={"priority", "assignee_id", "category_id"})
    return ticket_bulk.Actions(
        status=Status(body.status) if body.status else None,
        changes=changes,
        add_tags=tuple(body.add_tags or ()),
        remove_tags=tuple(body.remove_tags or ()),
        macro_id=body.macro_id,
    )


@router.post("/bulk", response_model=BulkResponse)
async def bulk(body: BulkRequest, user: StaffUser, app: App, ctx: Ctx) -> BulkResponse:
    """Apply the actions to each ticket, each in its own unit of work (staff; at most 1000 tickets). A result per
    ticket: 409 when it changed meanwhile (`expected_versions`) or refuses the move, 404 when it is not there,
    422 when it refuses a value; the others are still applied. A tag off the allow list refuses the whole request
    (422, nothing changed). All the events share the request's correlation id (`X-Correlation-ID`)."""
    actions = _actions(body.actions)
    await app.db.read(lambda conn: ticket_bulk.check(conn, actions, actor=user))
    expected = {int(k): v for k, v in body.expected_versions.items()}  # a ticket not in ticket_ids: not asked
    outcomes = await ticket_bulk.apply(
        app.writer, actor=user, ticket_ids=body.ticket_ids, actions=actions, expected_versions=expected, ctx=ctx
    )
    results = [
        BulkResult(ticket_id=o.ticket_id, ok=True, version=o.version)
        if o.error is None
        else BulkResult(
            ticket_id=o.ticket_id,
            ok=False,
            error=BulkError(status=o.error.status, title=o.error.title, detail=o.error.detail),
        )
        for o in outcomes
    ]
    applied = sum(1 for r in results if r.ok)
    return BulkResponse(results=results, applied=applied, failed=len(results) - applied)
