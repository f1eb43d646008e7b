"""Attachments: upload to a ticket (or one of its comments), list a ticket's files, download one."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response

from nixflow.api.deps import App, Ctx, CurrentUser, GuardedRoute, PathId
from nixflow.api.schemas import AttachmentRead, AttachmentUpload
from nixflow.domain.errors import PayloadTooLarge, ValidationFailed
from nixflow.services import attachments

tickets_router = APIRouter(prefix="/api/tickets", tags=["attachments"], route_class=GuardedRoute)
router = APIRouter(prefix="/api/attachments", tags=["attachments"], route_class=GuardedRoute)

# A downloaded file is never run as a page of this site, whatever it holds.
DOWNLOAD_CSP = "default-src 'none'; sandbox"


@tickets_router.post("/{ticket_id}/attachments", response_model=AttachmentRead, status_code=201)
async def upload(
    ticket_id: PathId,
    user: CurrentUser,
    app: App,
    ctx: Ctx,
    form: Annotated[AttachmentUpload, Form(media_type="multipart/form-data")],
    request: Request,
) -> AttachmentRead:
    """Attach a file (up to `NIXFLOW_MAX_ATTACHMENT_BYTES`, else 413) to the ticket, or to one of its comments."""
    if "" in (await request.form()).getlist("comment_id"):  # FastAPI reads an empty field as an absent one
        raise ValidationFailed(
            "comment_id must be a comment's id", errors=[{"loc": ["body", "comment_id"], "msg": "empty"}]
        )
    file = form.file
    on_comment = int(form.comment_id) if form.comment_id else None
    limit = app.settings.max_attachment_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"the file is over the limit of {limit} bytes")
    made = await app.writer.run(
        lambda tx: attachments.add(
            tx, actor=user, ticket_id=ticket_id, filename=file.filename, data=data, limit=limit, comment_id=on_comment
        ),
        ctx,
    )
    return AttachmentRead(**made)


@tickets_router.get("/{ticket_id}/attachments", response_model=list[AttachmentRead])
async def list_attachments(ticket_id: PathId, user: CurrentUser, app: App) -> list[AttachmentRead]:
    """The ticket's files that the caller may see (a requester never sees an internal note's)."""
    rows = await app.db.read(lambda conn: attachments.list_for_ticket(conn, viewer=user, ticket_id=ticket_id))
    return [AttachmentRead(**r) for r in rows]


@router.get(
    "/{attachment_id}",
    response_class=Response,
    responses={200: {"description": "The file's bytes", "content": {"*/*": {"schema": {"type": "string"}}}}},
)
async def download(attachment_id: PathId, user: CurrentUser, app: App) -> Response:
    """The file, always as a download (`Content-Disposition: attachment`, `nosniff`, a sandboxing CSP)."""
    meta: dict[str, Any]
    meta, data = await app.db.read(lambda conn: attachments.load(conn, viewer=user, attachment_id=attachment_id))
    name = str(meta["filename"])
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    headers = {
        "content-disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
        "x-content-type-options": "nosniff",
        "content-security-policy": DOWNLOAD_CSP,
    }
    return Response(content=data, media_type=str(meta["content_type"]), headers=headers)
