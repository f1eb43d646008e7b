"""SLA policies: read (staff), set per priority (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from annotated_types import Interval
from fastapi import APIRouter
from pydantic import BaseModel, BeforeValidator
from pydantic import Strict as StrictType

from nixflow.api.deps import App, Ctx, CurrentUser
from nixflow.api.schemas import PriorityName, Strict
from nixflow.automation import sla_policies
from nixflow.domain.json_types import Minutes, integral
from nixflow.domain.values import Priority
from nixflow.services.users import require_admin

router = APIRouter(prefix="/api/sla/policies", tags=["sla"])

WarningPercent = Annotated[int, StrictType(), Interval(ge=1, le=100), BeforeValidator(integral)]


class PolicyRead(BaseModel):
    priority: PriorityName
    first_response_minutes: int
    resolution_minutes: int
    warning_percent: int
    updated_at: datetime


class PolicyPut(Strict):
    first_response_minutes: Minutes
    resolution_minutes: Minutes
    warning_percent: WarningPercent


@router.get("", response_model=list[PolicyRead])
async def list_policies(user: CurrentUser, app: App) -> list[PolicyRead]:
    """The policy of every priority."""
    require_admin(user)
    return [PolicyRead(**p) for p in await app.db.read(sla_policies.list_policies)]


@router.get("/{priority}", response_model=PolicyRead)
async def get_policy(priority: PriorityName, user: CurrentUser, app: App) -> PolicyRead:
    """The policy of one priority."""
    require_admin(user)
    return PolicyRead(**await app.db.read(lambda conn: sla_policies.get_policy(conn, Priority(priority))))


@router.put("/{priority}", response_model=PolicyRead)
async def put_policy(priority: PriorityName, body: PolicyPut, user: CurrentUser, app: App, ctx: Ctx) -> PolicyRead:
    """Set the policy of a priority; open tickets of that priority get new due times."""
    require_admin(user)
    values = body.model_dump()
    return PolicyRead(
        **await app.writer.run(lambda tx: sla_policies.put_policy(tx, priority=Priority(priority), values=values), ctx)
    )
