"""Saved views: named queue filters with their live counts; personal, or shared with a team or everyone (staff)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Discriminator, Field, StrictBool, StringConstraints, Tag

from nixflow.api.deps import App, Ctx, GuardedRoute, PathId, StaffUser
from nixflow.api.schemas import PriorityName, StatusName, Strict, TagName
from nixflow.domain import tags
from nixflow.domain.json_types import NOT_BLANK, Id
from nixflow.services import saved_views, ticket_order

router = APIRouter(prefix="/api/views", tags=["views"], route_class=GuardedRoute)

ViewName = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=100, pattern=NOT_BLANK)]
ColumnName = Annotated[str, StringConstraints(strict=True, pattern=r"^[a-z][a-z0-9_.:-]{0,63}$")]


class ViewFilters(Strict):
    """The queue's filter parameters, as `GET /api/tickets` takes them."""

    status: StatusName | None = None
    statuses: list[StatusName] | None = Field(default=None, max_length=5, description="Any of these statuses.")
    priority: PriorityName | None = None
    assignee_id: Id | None = None
    unassigned: StrictBool = False
    category_id: Id | None = None
    q: Annotated[str, StringConstraints(strict=True, max_length=200)] | None = None
    tag: TagName | None = None


class _ViewFields(Strict):
    name: ViewName
    filters: ViewFilters = Field(default_factory=ViewFilters)
    sort: ticket_order.SortName = ticket_order.DEFAULT_SORT
    columns: list[ColumnName] = Field(default_factory=list, max_length=30)


class PersonalView(_ViewFields):
    """Yours alone (the default scope)."""

    scope: Literal["personal"] = "personal"


class TeamView(_ViewFields):
    """Shared with the agents of a category (admins)."""

    scope: Literal["team"]
    category_id: Id


class EveryoneView(_ViewFields):
    """Shared with every agent and admin (admins)."""

    scope: Literal["everyone"]


def _scope_of(value: Any) -> str:
    scope = value.get("scope", "personal") if isinstance(value, dict) else getattr(value, "scope", "personal")
    return str(scope)


ViewWrite = Annotated[
    Annotated[PersonalView, Tag("personal")]
    | Annotated[TeamView, Tag("team")]
    | Annotated[EveryoneView, Tag("everyone")],
    Discriminator(_scope_of),
]


class ViewRead(BaseModel):
    id: int
    name: str
    scope: str
    category_id: int | None
    owner_id: int
    filters: dict[str, Any]
    sort: str
    columns: list[str]
    count: int  # tickets the filter matches now, as the viewer sees them
    count_more: bool = False  # `count` is a floor: a filter the counters cannot answer, past the cap ("1,000+")
    created_at: datetime
    updated_at: datetime


def _spec(body: ViewWrite) -> saved_views.ViewSpec:
    filters = body.filters.model_dump(exclude_defaults=True)
    if "tag" in filters:
        filters["tag"] = tags.normalise(filters["tag"])
    return saved_views.ViewSpec(
        name=body.name.strip(),
        scope=body.scope,
        category_id=body.category_id if isinstance(body, TeamView) else None,
        filters=filters,
        sort=body.sort,
        columns=list(body.columns),
    )


@router.get("", response_model=list[ViewRead])
async def list_views(user: StaffUser, app: App) -> list[dict[str, Any]]:
    """The views you see: your own first, then the shared ones, each with its count of tickets (at most 50)."""
    return await app.db.read(lambda conn: saved_views.counted(conn, viewer=user))


@router.post("", response_model=ViewRead, status_code=201)
async def create_view(body: ViewWrite, user: StaffUser, app: App, ctx: Ctx) -> dict[str, Any]:
    """Save a view (staff: personal; admins: shared with a team or everyone). 422 past 25 of a kind."""
    return await app.writer.run(lambda tx: saved_views.create(tx, actor=user, spec=_spec(body)), ctx)


@router.get("/{view_id}", response_model=ViewRead)
async def get_view(view_id: PathId, user: StaffUser, app: App) -> dict[str, Any]:
    """One view you see, with its count; 404 for another's personal view or another team's."""
    return await app.db.read(lambda conn: saved_views.get(conn, viewer=user, view_id=view_id))


@router.put("/{view_id}", response_model=ViewRead)
async def update_view(view_id: PathId, body: ViewWrite, user: StaffUser, app: App, ctx: Ctx) -> dict[str, Any]:
    """Replace a view (your personal one; admins: shared ones)."""
    return await app.writer.run(lambda tx: saved_views.update(tx, actor=user, view_id=view_id, spec=_spec(body)), ctx)


@router.delete("/{view_id}", status_code=204)
async def delete_view(view_id: PathId, user: StaffUser, app: App, ctx: Ctx) -> Response:
    """Delete a view (your personal one; admins: shared ones)."""
    await app.writer.run(lambda tx: saved_views.delete(tx, actor=user, view_id=view_id), ctx)
    return Response(status_code=204)
