"""Organizations: admins write, staff read, everyone reads the names of their own."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field, StrictBool, StringConstraints

from nixflow.api.deps import AdminUser, App, Ctx, CurrentUser, GuardedRoute, PathId, StaffUser
from nixflow.api.schemas import FieldValues, Strict
from nixflow.domain.json_types import NOT_BLANK, Id
from nixflow.domain.organizations import DOMAIN_INPUT_PATTERN, MAX_DOMAINS, MAX_NAME
from nixflow.services import organizations
from nixflow.store.db import Tx

router = APIRouter(prefix="/api/organizations", tags=["organizations"], route_class=GuardedRoute)
# Beside `GET /api/auth/me`: under /api/organizations, `mine` would also match `/{organization_id}`'s path.
me_router = APIRouter(prefix="/api/auth/me", tags=["organizations"], route_class=GuardedRoute)

Name = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=MAX_NAME, pattern=NOT_BLANK)]
# Trimmed and lower-cased by the service, so ` Acme.COM` is `acme.com`.
Domain = Annotated[str, StringConstraints(strict=True, max_length=253, pattern=DOMAIN_INPUT_PATTERN)]
Domains = Annotated[list[Domain], Field(max_length=MAX_DOMAINS)]


class OrganizationCreate(Strict):
    name: Name
    domains: Domains = Field(default_factory=list, description="New requesters from these join it.")
    shares_tickets: StrictBool = Field(default=False, description="Members see each other's tickets.")
    fields: FieldValues | None = None  # custom organization fields


class OrganizationUpdate(Strict):
    """Only what is given changes; `domains` replaces the whole list, `fields` are merged (a null clears one)."""

    name: Name | None = None
    domains: Domains | None = None
    shares_tickets: StrictBool | None = None
    fields: FieldValues | None = None


class MemberAdd(Strict):
    user_id: Id


class OrganizationName(BaseModel):
    id: int
    name: str


class OrganizationRead(OrganizationName):
    domains: list[str]
    shares_tickets: bool
    fields: dict[str, Any] = Field(description="Custom field values by key (`GET /api/fields?entity=organization`)")
    member_count: int
    created_at: datetime
    updated_at: datetime


class OrganizationDetail(OrganizationRead):
    member_ids: list[int]


@router.get("", response_model=list[OrganizationRead])
async def list_organizations(user: StaffUser, app: App) -> list[dict[str, Any]]:
    """Every organization, by name (staff)."""
    return await app.db.read(lambda conn: organizations.visible_to(conn, viewer=user))


@me_router.get("/organizations", response_model=list[OrganizationName])
async def my_organizations(user: CurrentUser, app: App) -> list[dict[str, Any]]:
    """The organizations the signed-in user belongs to (their names only)."""
    return await app.db.read(lambda conn: organizations.names_of(conn, user_id=user.id))


@router.post("", response_model=OrganizationDetail, status_code=201)
async def create_organization(body: OrganizationCreate, user: AdminUser, app: App, ctx: Ctx) -> dict[str, Any]:
    """Add an organization (admins). 409 when another has the name (in any case) or one of the domains; 422
    naming a custom field its definition refuses."""

    def create(tx: Tx) -> dict[str, Any]:
        made = organizations.create(
            tx,
            actor=user,
            name=body.name,
            domains=body.domains,
            shares_tickets=body.shares_tickets,
            fields=body.fields,
        )
        return organizations.get(tx.conn, viewer=user, organization_id=made["id"])

    return await app.writer.run(create, ctx)


@router.get("/{organization_id}", response_model=OrganizationDetail)
async def get_organization(organization_id: PathId, user: StaffUser, app: App) -> dict[str, Any]:
    """One organization and its members' ids (staff)."""
    return await app.db.read(lambda conn: organizations.get(conn, viewer=user, organization_id=organization_id))


@router.patch("/{organization_id}", response_model=OrganizationDetail)
async def update_organization(
    organization_id: PathId, body: OrganizationUpdate, user: AdminUser, app: App, ctx: Ctx
) -> dict[str, Any]:
    """Rename it, replace its domains, turn sharing on or off, or set custom fields (admins)."""
    changes = body.model_dump(exclude_unset=True)

    def change(tx: Tx) -> dict[str, Any]:
        organizations.update(tx, actor=user, organization_id=organization_id, changes=changes)
        return organizations.get(tx.conn, viewer=user, organization_id=organization_id)

    return await app.writer.run(change, ctx)


@router.delete("/{organization_id}", status_code=204)
async def delete_organization(organization_id: PathId, user: AdminUser, app: App, ctx: Ctx) -> Response:
    """Delete it with its domains and memberships (admins); its tickets keep its id."""
    await app.writer.run(
        lambda tx: organizations.delete_organization(tx, actor=user, organization_id=organization_id), ctx
    )
    return Response(status_code=204)


@router.post("/{organization_id}/members", response_model=OrganizationDetail)
async def add_member(organization_id: PathId, body: MemberAdd, user: AdminUser, app: App, ctx: Ctx) -> dict[str, Any]:
    """Make a user a member (admins); one already a member changes nothing."""
    return await app.writer.run(
        lambda tx: organizations.add_member(tx, actor=user, organization_id=organization_id, user_id=body.user_id), ctx
    )


@router.delete("/{organization_id}/members/{user_id}", response_model=OrganizationDetail)
async def remove_member(
    organization_id: PathId, user_id: PathId, user: AdminUser, app: App, ctx: Ctx
) -> dict[str, Any]:
    """Take a user out (admins); one not a member changes nothing."""
    return await app.writer.run(
        lambda tx: organizations.remove_member(tx, actor=user, organization_id=organization_id, user_id=user_id), ctx
    )
