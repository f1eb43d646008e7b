"""Local passwords per role, and the break-glass admins who keep theirs (admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from nixflow.api.deps import AdminUser, App, Ctx, GuardedRoute, PathId
from nixflow.api.schemas import Strict
from nixflow.services import local_passwords
from nixflow.store.db import Tx

router = APIRouter(prefix="/api/auth/local-passwords", tags=["auth"], route_class=GuardedRoute)


class LocalPasswordsUpdate(Strict):
    """Per role, whether its people may sign in with a local password; a role left out keeps its setting."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"agent": False, "admin": False, "requester": True}]})
    admin: StrictBool | None = None
    agent: StrictBool | None = None
    requester: StrictBool | None = None


class LocalPasswordsRead(BaseModel):
    admin: bool
    agent: bool
    requester: bool
    break_glass_ids: list[int] = Field(description="Admins who keep a local password whatever their role's setting.")


@router.get("", response_model=LocalPasswordsRead)
async def read_local_passwords(user: AdminUser, app: App) -> dict[str, Any]:
    """Per role whether local passwords are on, and the break-glass admins (admins)."""
    return await app.db.read(local_passwords.read)


@router.put("", response_model=LocalPasswordsRead)
async def set_local_passwords(body: LocalPasswordsUpdate, user: AdminUser, app: App, ctx: Ctx) -> dict[str, Any]:
    """Turn local passwords on or off per role (admins); 409 when admins' would go off with no break-glass admin
    who keeps one."""
    allowed = body.model_dump(exclude_none=True)

    def change(tx: Tx) -> dict[str, Any]:
        return local_passwords.set_roles(tx, actor=user, allowed=allowed)

    result: dict[str, Any] = await app.writer.run(change, ctx)
    return result


@router.put("/break-glass/{user_id}", response_model=LocalPasswordsRead)
async def mark_break_glass(user_id: PathId, user: AdminUser, app: App, ctx: Ctx) -> dict[str, Any]:
    """Mark an active admin break-glass: they keep a local password (admins; at most three; 409 otherwise)."""
    result: dict[str, Any] = await app.writer.run(lambda tx: local_passwords.mark(tx, actor=user, user_id=user_id), ctx)
    return result


@router.delete("/break-glass/{user_id}", response_model=LocalPasswordsRead)
async def unmark_break_glass(user_id: PathId, user: AdminUser, app: App, ctx: Ctx) -> dict[str, Any]:
    """Take the break-glass mark off (admins); 409 for the last one while admins' local passwords are off."""
    result: dict[str, Any] = await app.writer.run(
        lambda tx: local_passwords.unmark(tx, actor=user, user_id=user_id), ctx
    )
    return result
