"""Round-robin counters (admin): list, read, reset one, reset all."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel

from nixflow.api.deps import App, Ctx, GuardedRoute, admin_only
from nixflow.automation import round_robin

router = APIRouter(
    prefix="/api/round-robin/counters",
    tags=["automation"],
    route_class=GuardedRoute,
    dependencies=[Depends(admin_only)],
)


class CounterRead(BaseModel):
    key: str
    value: int
    updated_at: datetime


@router.get("", response_model=list[CounterRead])
async def list_counters(app: App) -> list[CounterRead]:
    """Every counter (key `category:<id>`), by key."""
    return [CounterRead(**c) for c in await app.db.read(app.counters.all)]


@router.get("/{key}", response_model=CounterRead)
async def get_counter(key: str, app: App) -> CounterRead:
    """One counter."""
    return CounterRead(**await app.db.read(lambda conn: round_robin.get_counter(conn, app.counters, key)))


@router.delete("/{key}", status_code=204)
async def reset_counter(key: str, app: App, ctx: Ctx) -> Response:
    """Reset one counter: its category starts again with its first agent."""
    await app.writer.run(lambda tx: round_robin.reset(tx, app.counters, key), ctx)
    return Response(status_code=204)


@router.delete("", status_code=204)
async def reset_counters(app: App, ctx: Ctx) -> Response:
    """Reset every counter."""
    await app.writer.run(lambda tx: round_robin.reset(tx, app.counters, None), ctx)
    return Response(status_code=204)
