"""A person's data: exported (admin, or the person themselves), and erased (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from nixflow.api.deps import App, Ctx, CurrentUser, GuardedRoute, PathId, admin_only
from nixflow.api.schemas import UserErase, UserErasure
from nixflow.services import erasure, personal_data

router = APIRouter(prefix="/api/users", tags=["users"], route_class=GuardedRoute)


@router.get("/{user_id}/export", response_model=dict[str, Any])
async def export(user_id: PathId, user: CurrentUser, app: App) -> dict[str, Any]:
    """Everything NixFlow holds about the person: profile, tickets asked, comments written, watched tickets,
    notifications, sign-in history (no secrets) and uploaded attachments with their download paths; `erased_at`
    says when it was erased."""
    personal_data.may_export(user, user_id)
    found: dict[str, Any] = await app.db.read(lambda conn: personal_data.export(conn, user_id=user_id))
    return found


@router.post("/{user_id}/erase", response_model=UserErasure, dependencies=[Depends(admin_only)])
async def erase(user_id: PathId, body: UserErase, app: App, ctx: Ctx) -> UserErasure:
    """Erase the person's personal data, in the tables and in the event log's payloads (`confirm`: their email
    typed again). Their name and email become a pseudonym ("Erased user 12"); their comments, the tickets they
    asked (title, description, conversation), files, mail, sessions, tokens, notifications and personal views
    are erased or deleted; the tickets stay for the records and the reports. 409: erased already, oneself, the
    last active admin, open tickets still assigned to them (`errors` lists them), or `confirm` differs."""
    done = await app.writer.run(
        lambda tx: erasure.erase(tx, user_id=user_id, confirm=body.confirm, reason=body.reason), ctx
    )
    return UserErasure(**done)
