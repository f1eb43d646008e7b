"""Quarantined mail (admin): list, read, download the message, retry it through the intake, discard it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from nixflow.api.deps import App, Ctx, GuardedRoute, PathId, admin_only
from nixflow.api.routes.attachments import DOWNLOAD_CSP
from nixflow.email_in import intake, quarantine_admin
from nixflow.store import event_log

router = APIRouter(
    prefix="/api/mail/quarantine",
    tags=["mail"],
    route_class=GuardedRoute,
    dependencies=[Depends(admin_only)],
)

State = Literal["held", "retried", "discarded"]


class QuarantineRead(BaseModel):
    id: int
    source: Literal["pipe", "imap"]
    message_id: str | None
    sender: str | None
    subject: str | None
    size: int
    error_type: str
    error: str  # the error's type and first line; the traceback is in the server's log only
    state: State
    attempts: int
    outcome: str | None  # what a successful retry became: ticket, comment, dropped, bounce, duplicate
    inbound_id: int | None
    ticket_id: int | None
    quarantined_at: datetime
    updated_at: datetime


class QuarantinePage(BaseModel):
    items: list[QuarantineRead]
    next_cursor: str | None


@router.get("", response_model=QuarantinePage)
async def list_quarantine(
    app: App,
    state: State | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(pattern=event_log.CURSOR_PATTERN)] = None,
) -> QuarantinePage:
    """Mail the intake could not store, newest first (`state=held` for what waits for an admin)."""

    def read(conn: Any) -> tuple[list[dict[str, Any]], str | None]:
        return quarantine_admin.page(conn, state=state, limit=limit, cursor=cursor)

    items, next_cursor = await app.db.read(read)
    return QuarantinePage(items=[QuarantineRead(**i) for i in items], next_cursor=next_cursor)


@router.get("/{quarantine_id}", response_model=QuarantineRead)
async def get_quarantined(quarantine_id: PathId, app: App) -> QuarantineRead:
    """One quarantined mail, without its bytes (`/raw` has them)."""
    return QuarantineRead(**await app.db.read(lambda conn: quarantine_admin.get(conn, quarantine_id=quarantine_id)))


@router.get(
    "/{quarantine_id}/raw",
    response_class=Response,
    responses={200: {"description": "The message as it came", "content": {"message/rfc822": {"schema": {}}}}},
)
async def download_quarantined(quarantine_id: PathId, app: App) -> Response:
    """The message's bytes as an .eml download; 404 once discarded."""
    raw = await app.db.read(lambda conn: quarantine_admin.raw_of(conn, quarantine_id=quarantine_id))
    headers = {
        "content-disposition": f'attachment; filename="quarantine-{quarantine_id}.eml"',
        "x-content-type-options": "nosniff",
        "content-security-policy": DOWNLOAD_CSP,
    }
    return Response(content=raw, media_type="message/rfc822", headers=headers)


@router.post("/{quarantine_id}/retry", response_model=QuarantineRead)
async def retry_quarantined(quarantine_id: PathId, app: App, ctx: Ctx) -> QuarantineRead:
    """Run the intake again on the held message: `state: retried` with what it became, or still `held` with the
    new error; 409 when it is not held."""
    config = intake.config_from(app.settings)
    item = await quarantine_admin.retry(app.writer, ctx, quarantine_id=quarantine_id, config=config)
    return QuarantineRead(**item)


@router.post("/{quarantine_id}/discard", response_model=QuarantineRead)
async def discard_quarantined(quarantine_id: PathId, app: App, ctx: Ctx) -> QuarantineRead:
    """Drop the held message's bytes and keep the record (`email.quarantine_discarded`); 409 when it is not held."""
    item = await app.writer.run(lambda tx: quarantine_admin.discard(tx, quarantine_id=quarantine_id), ctx)
    return QuarantineRead(**item)
