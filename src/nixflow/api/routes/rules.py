"""Automation rules (admin): list, create, read, change, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel

from nixflow.api.deps import App, Ctx, GuardedRoute, PathId, admin_only
from nixflow.automation import rules
from nixflow.automation.model import RuleCreate, RuleUpdate

router = APIRouter(
    prefix="/api/rules", tags=["automation"], route_class=GuardedRoute, dependencies=[Depends(admin_only)]
)


class RuleRead(BaseModel):
    id: int
    name: str
    kind: str
    active: bool
    position: int
    mode: str
    rollout_percent: int
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


@router.get("", response_model=list[RuleRead])
async def list_rules(app: App) -> list[RuleRead]:
    """Every rule, in the order rules run (position, then id)."""
    return [RuleRead(**r) for r in await app.db.read(rules.list_rules)]


@router.post("", response_model=RuleRead, status_code=201)
async def create_rule(body: RuleCreate, app: App, ctx: Ctx) -> RuleRead:
    """Create a rule; an unknown field, operator or action is a 422 naming it."""
    return RuleRead(**await app.writer.run(lambda tx: rules.create_rule(tx, spec=body), ctx))


@router.get("/{rule_id}", response_model=RuleRead)
async def get_rule(rule_id: PathId, app: App) -> RuleRead:
    """One rule."""
    return RuleRead(**await app.db.read(lambda conn: rules.get_rule(conn, rule_id=rule_id)))


@router.patch("/{rule_id}", response_model=RuleRead)
async def update_rule(rule_id: PathId, body: RuleUpdate, app: App, ctx: Ctx) -> RuleRead:
    """Change some of a rule's fields."""
    return RuleRead(**await app.writer.run(lambda tx: rules.update_rule(tx, rule_id=rule_id, changes=body), ctx))


@router.delete("/{rule_id}", status_code=204)
async def delete_rule(rule_id: PathId, app: App, ctx: Ctx) -> Response:
    """Delete a rule."""
    await app.writer.run(lambda tx: rules.delete_rule(tx, rule_id=rule_id), ctx)
    return Response(status_code=204)
