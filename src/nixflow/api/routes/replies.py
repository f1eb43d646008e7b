"""Writing replies: a Markdown preview rendered as the page will show it, and your signature."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, StringConstraints

from nixflow.api.deps import App, Ctx, CurrentUser, GuardedRoute, StaffUser
from nixflow.api.schemas import Strict
from nixflow.markup import render_reply
from nixflow.services import signatures

router = APIRouter(prefix="/api", tags=["replies"], route_class=GuardedRoute)


class PreviewRequest(Strict):
    body: Annotated[str, StringConstraints(strict=True, max_length=20_000)]


class PreviewRead(BaseModel):
    html: str  # sanitised: what the ticket page shows for this comment body


class Signature(Strict):
    # Markdown; empty (or left out) removes it
    signature: Annotated[str, StringConstraints(strict=True, max_length=signatures.SIGNATURE_LIMIT)] = ""


@router.post("/markdown/preview", response_model=PreviewRead)
async def preview(body: PreviewRequest, user: CurrentUser) -> PreviewRead:
    """A reply's Markdown as the ticket page and the notification mail will show it; nothing is stored."""
    return PreviewRead(html=render_reply(body.body))


@router.get("/auth/signature", response_model=Signature)
async def get_signature(user: StaffUser, app: App) -> Signature:
    """Your signature (Markdown, empty when none), appended to your public replies when they are sent."""
    return Signature(signature=await app.db.read(lambda conn: signatures.get(conn, user_id=user.id)))


@router.put("/auth/signature", response_model=Signature)
async def set_signature(body: Signature, user: StaffUser, app: App, ctx: Ctx) -> Signature:
    """Set your signature; an empty one removes it. Internal notes and mailed replies are never signed."""
    text = await app.writer.run(lambda tx: signatures.set_signature(tx, actor=user, signature=body.signature), ctx)
    return Signature(signature=text)
