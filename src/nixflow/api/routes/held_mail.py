"""Mail held from an unverified sender, on a ticket's comments: an agent publishes it or discards it."""

from __future__ import annotations

from fastapi import APIRouter, Response

from nixflow.api.deps import App, Ctx, GuardedRoute, PathId, StaffUser
from nixflow.api.schemas import CommentRead
from nixflow.email_in import held

router = APIRouter(prefix="/api/tickets", tags=["tickets"], route_class=GuardedRoute)


@router.post("/{ticket_id}/comments/{comment_id}/publish", response_model=CommentRead)
async def publish(ticket_id: PathId, comment_id: PathId, user: StaffUser, app: App, ctx: Ctx) -> CommentRead:
    """Make a held mail its sender's public comment (notified like any); answers that comment. 409 if decided."""
    comment = await app.writer.run(
        lambda tx: held.publish(tx, actor=user, ticket_id=ticket_id, comment_id=comment_id), ctx
    )
    return CommentRead(**comment, attachments=[])


@router.post("/{ticket_id}/comments/{comment_id}/discard", status_code=204)
async def discard(ticket_id: PathId, comment_id: PathId, user: StaffUser, app: App, ctx: Ctx) -> Response:
    """Keep a held mail out of the conversation for good (the mail stays stored). 409 if decided already."""
    await app.writer.run(lambda tx: held.discard(tx, actor=user, ticket_id=ticket_id, comment_id=comment_id), ctx)
    return Response(status_code=204)
