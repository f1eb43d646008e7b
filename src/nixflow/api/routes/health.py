"""Health: is the database reachable, and the bus."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from nixflow.api.deps import App
from nixflow.api.schemas import Health

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health(app: App) -> Any:
    """200 when every dependency answers; 503 naming the one that does not."""
    body = {"status": "ok", "database": "ok", "bus": "embedded"}
    try:
        await app.db.read(lambda conn: conn.execute(text("SELECT 1")).scalar())
    except Exception:
        body["database"] = "unavailable"
    bus = await app.bus_health()
    body["bus"] = bus
    if body["database"] != "ok" or bus not in ("ok", "embedded"):
        body["status"] = "unavailable"
        return JSONResponse(body, status_code=503)
    return body
