"""SLA policies: read (staff), set per priority (admin); an organization's own per priority (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from annotated_types import Interval
from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, BeforeValidator
from pydantic import Strict as StrictType

from nixflow.api.deps import App, Ctx, GuardedRoute, PathId, admin_only
from nixflow.api.schemas import PriorityName, Strict
from nixflow.domain.json_types import Id, Minutes, integral
from nixflow.domain.values import Priority
from nixflow.services import sla_policies

router = APIRouter(
    prefix="/api/sla/policies", tags=["sla"], route_class=GuardedRoute, dependencies=[Depends(admin_only)]
)

WarningPercent = Annotated[int, StrictType(), Interval(ge=1, le=100), BeforeValidator(integral)]


class PolicyRead(BaseModel):
    priority: PriorityName
    first_response_minutes: int
    resolution_minutes: int
    warning_percent: int
    calendar_id: int | None
    updated_at: datetime


class PolicyPut(Strict):
    first_response_minutes: Minutes
    resolution_minutes: Minutes
    warning_percent: WarningPercent
    # Business hours (GET /api/calendars); null: the category's, else 24/7; left out: unchanged.
    calendar_id: Id | None = None


@router.get("", response_model=list[PolicyRead])
async def list_policies(app: App) -> list[PolicyRead]:
    """The policy of every priority."""
    return [PolicyRead(**p) for p in await app.db.read(sla_policies.list_policies)]


@router.get("/{priority}", response_model=PolicyRead)
async def get_policy(priority: PriorityName, app: App) -> PolicyRead:
    """The policy of one priority."""
    return PolicyRead(**await app.db.read(lambda conn: sla_policies.get_policy(conn, Priority(priority))))


@router.put("/{priority}", response_model=PolicyRead)
async def put_policy(priority: PriorityName, body: PolicyPut, app: App, ctx: Ctx) -> PolicyRead:
    """Set the policy of a priority; open tickets of that priority get new due times."""
    values = body.model_dump(exclude_unset=True)
    return PolicyRead(
        **await app.writer.run(lambda tx: sla_policies.put_policy(tx, priority=Priority(priority), values=values), ctx)
    )


class OrganizationPolicyRead(BaseModel):
    organization_id: int
    priority: PriorityName
    first_response_minutes: int
    resolution_minutes: int
    warning_percent: int
    updated_at: datetime


class OrganizationPolicyPut(Strict):
    """Targets of the organization's own; its tickets count in the calendar of the priority's policy."""

    first_response_minutes: Minutes
    resolution_minutes: Minutes
    warning_percent: WarningPercent


@router.get("/organizations/{organization_id}", response_model=list[OrganizationPolicyRead])
async def organization_policies(organization_id: PathId, app: App) -> list[OrganizationPolicyRead]:
    """The organization's own policies (priorities without one follow the priority's policy)."""
    found = await app.db.read(lambda c: sla_policies.organization_policies(c, organization_id=organization_id))
    return [OrganizationPolicyRead(**p) for p in found]


@router.put("/organizations/{organization_id}/{priority}", response_model=OrganizationPolicyRead)
async def put_organization_policy(
    organization_id: PathId, priority: PriorityName, body: OrganizationPolicyPut, app: App, ctx: Ctx
) -> OrganizationPolicyRead:
    """Set the organization's own targets for a priority; its open tickets of that priority get new due times."""
    values = body.model_dump()
    return OrganizationPolicyRead(
        **await app.writer.run(
            lambda tx: sla_policies.put_organization_policy(
                tx, organization_id=organization_id, priority=Priority(priority), values=values
            ),
            ctx,
        )
    )


@router.delete("/organizations/{organization_id}/{priority}", status_code=204)
async def remove_organization_policy(organization_id: PathId, priority: PriorityName, app: App, ctx: Ctx) -> Response:
    """The organization's tickets of that priority follow the priority's policy again (re-timed)."""
    await app.writer.run(
        lambda tx: sla_policies.remove_organization_policy(
            tx, organization_id=organization_id, priority=Priority(priority)
        ),
        ctx,
    )
    return Response(status_code=204)
