"""SLA policies: read (staff), set per priority (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from annotated_types import Interval
from fastapi import APIRouter, Depends
from pydantic import BaseModel, BeforeValidator
from pydantic import Strict as StrictType

from nixflow.api.deps import App, Ctx, GuardedRoute, admin_only
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
