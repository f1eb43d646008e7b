"""OAuth2 mailboxes (admin): set one up, connect it through its provider's consent screen, read, remove."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, StringConstraints

from nixflow import crypto
from nixflow.api.deps import AdminUser, App, Ctx, GuardedRoute, PathId, admin_only
from nixflow.api.schemas import Strict
from nixflow.domain.json_types import MAX_ID
from nixflow.domain.mail_providers import CUSTOM, PRESETS
from nixflow.outbound import targets
from nixflow.services import mail_oauth
from nixflow.store import mail_oauth as rows

router = APIRouter(
    prefix="/api/mail/oauth", tags=["mail"], route_class=GuardedRoute, dependencies=[Depends(admin_only)]
)

Url = Annotated[str, StringConstraints(strict=True, min_length=10, max_length=2000, pattern=targets.URL_PATTERN)]
# The user the mail server knows the mailbox by: the user of NIXFLOW_IMAP_URL / NIXFLOW_SMTP_URL.
Address = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=254, pattern=r"^[^\s\x00-\x1f\x7f]+$")]
Text = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=500, pattern=r"^[^\x00-\x1f\x7f]+$")]
Secret = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=2000)]
Scopes = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=1000, pattern=r"^[!#-~]+( [!#-~]+)*$")]
Provider = Literal["microsoft", "google", "custom"]
Status = Literal["not_connected", "connected", "paused"]


class MailboxCreate(Strict):
    address: Address
    provider: Provider
    client_id: Text
    client_secret: Secret | None = None
    tenant: Text | None = None  # Microsoft 365: the directory (default `organizations`)
    scopes: Scopes | None = None  # a preset's own when not given; required for `custom`
    discovery_url: Url | None = None  # custom: an OpenID/OAuth2 discovery document...
    authorization_endpoint: Url | None = None  # ...or both endpoints
    token_endpoint: Url | None = None


class MailboxRead(BaseModel):
    id: int
    address: str
    provider: Provider
    authorization_endpoint: str
    token_endpoint: str
    scopes: str
    client_id: str
    status: Status
    connected_at: datetime | None
    paused_at: datetime | None
    paused_reason: str | None
    created_at: datetime
    updated_at: datetime


class ProviderRead(BaseModel):
    name: str  # a `provider` of MailboxCreate
    label: str
    scopes: str | None


def _callback_url(app: App) -> str:
    """Where the provider sends the admin back: registered with the provider as the redirect URI."""
    return f"{app.settings.base_url}/api/mail/oauth/callback"


@router.get("/providers", response_model=list[ProviderRead])
async def list_providers() -> list[ProviderRead]:
    """The presets, and `custom` (any OAuth2 provider by URL)."""
    presets = [ProviderRead(name=name, label=p.label, scopes=p.scopes) for name, p in PRESETS.items()]
    return [*presets, ProviderRead(name=CUSTOM, label="Any OAuth2 provider", scopes=None)]


@router.post("/mailboxes", response_model=MailboxRead, status_code=201)
async def add_mailbox(body: MailboxCreate, app: App, ctx: Ctx, admin: AdminUser) -> MailboxRead:
    """Set up a mailbox (409 when its address has one); `GET /api/mail/oauth/start` connects it."""
    spec = mail_oauth.MailboxSpec(**body.model_dump())
    endpoints = await mail_oauth.endpoints_for(spec)
    keys = crypto.keyring(app.settings)
    added = await app.writer.run(
        lambda tx: mail_oauth.add(tx, spec=spec, endpoints=endpoints, keys=keys, by=admin.id), ctx
    )
    return MailboxRead(**added)


@router.get("/mailboxes", response_model=list[MailboxRead])
async def list_mailboxes(app: App) -> list[MailboxRead]:
    return [MailboxRead(**m) for m in await app.db.read(rows.listing)]


@router.get("/mailboxes/{mailbox_id}", response_model=MailboxRead)
async def get_mailbox(mailbox_id: PathId, app: App) -> MailboxRead:
    return MailboxRead(**rows.public(await app.db.read(lambda conn: mail_oauth.get(conn, mailbox_id))))


@router.delete("/mailboxes/{mailbox_id}", status_code=204)
async def remove_mailbox(mailbox_id: PathId, app: App, ctx: Ctx, admin: AdminUser) -> Response:
    """Forget the mailbox and its tokens; its server is no longer signed in to."""
    await app.writer.run(lambda tx: mail_oauth.remove(tx, mailbox_id=mailbox_id, by=admin.id), ctx)
    return Response(status_code=204)


@router.get("/start", response_class=RedirectResponse, status_code=303)
async def start_consent(
    app: App, ctx: Ctx, admin: AdminUser, mailbox_id: Annotated[int, Query(ge=0, le=MAX_ID)]
) -> RedirectResponse:
    """Send the admin to the provider's consent screen (state and PKCE); it comes back to `/callback`."""
    keys = crypto.keyring(app.settings)
    url = await app.writer.run(
        lambda tx: mail_oauth.begin(tx, mailbox_id=mailbox_id, keys=keys, by=admin.id, redirect_uri=_callback_url(app)),
        ctx,
    )
    return RedirectResponse(url, status_code=303)


@router.get("/callback", response_model=MailboxRead)
async def finish_consent(
    request: Request,
    app: App,
    ctx: Ctx,
    admin: AdminUser,
    state: Annotated[str, Query(min_length=1, max_length=512)],
    code: Annotated[str | None, Query(max_length=2048)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> MailboxRead:
    """The provider's answer: the mailbox is connected (or reconnected: a paused one polls and sends again). A
    browser (asking for HTML) is sent on to the mailboxes page, which shows it connected."""
    connected = await mail_oauth.finish(
        writer=app.writer,
        keys=crypto.keyring(app.settings),
        answer=mail_oauth.ConsentAnswer(state=state, code=code, error=error),
        by=admin.id,
        redirect_uri=_callback_url(app),
        ctx=ctx,
    )
    if "text/html" in request.headers.get("accept", ""):
        return RedirectResponse("/admin/mailboxes", status_code=303)  # type: ignore[return-value]
    return MailboxRead(**connected)
