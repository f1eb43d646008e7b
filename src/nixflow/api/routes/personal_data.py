"""A person's data, exported (admin, or the person themselves)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from nixflow.api.deps import App, CurrentUser, GuardedRoute, PathId
from nixflow.services import personal_data

router = APIRouter(prefix="/api/users", tags=["users"], route_class=GuardedRoute)


@router.get("/{user_id}/export", response_model=dict[str, Any])
async def export(user_id: PathId, user: CurrentUser, app: App) -> dict[str, Any]:
    """Everything NixFlow holds about the person: profile, tickets asked, comments written, watched tickets,
    notifications, sign-in history (no secrets) and uploaded attachments with their download paths."""
    personal_data.may_export(user, user_id)
    found: dict[str, Any] = await app.db.read(lambda conn: personal_data.export(conn, user_id=user_id))
    return found
