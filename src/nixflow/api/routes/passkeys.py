"""Passkeys: register one while signed in (and list, rename, delete yours); sign in with one, without a password."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, StringConstraints

from nixflow.api import security
from nixflow.api.deps import App, Ctx, CurrentUser, GuardedRoute, PathId
from nixflow.api.routes.auth import start_session
from nixflow.api.schemas import LoginResponse, Strict
from nixflow.domain.envelope import EventContext
from nixflow.domain.errors import Unauthorized
from nixflow.domain.json_types import NOT_BLANK
from nixflow.ids import uuid7
from nixflow.services import passkey_assertions, passkeys
from nixflow.services.passkeys import RelyingParty

router = APIRouter(prefix="/api/auth/passkeys", tags=["auth"], route_class=GuardedRoute)
# `{passkey_id:int}` below: "register" and "login" are not passkey ids, so OPTIONS and 405s there name only POST.
NOT_ACCEPTED = "this passkey was not accepted"

PasskeyName = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=100, pattern=NOT_BLANK)]
# What `navigator.credentials.create()` / `.get()` gave the page, as `PublicKeyCredential.toJSON()` writes it.
BrowserCredential = dict[str, Any]


class PasskeyRead(BaseModel):
    id: int
    name: str
    transports: list[str]
    created_at: datetime
    last_used_at: datetime | None


class PasskeyRegistration(Strict):
    name: PasskeyName
    credential: BrowserCredential


class PasskeyRename(Strict):
    name: PasskeyName


class PasskeyAssertion(Strict):
    credential: BrowserCredential


@router.post("/register/options")
async def registration_options(user: CurrentUser, app: App, ctx: Ctx) -> dict[str, Any]:
    """Options for `navigator.credentials.create()`: a discoverable passkey for you, user verification required.
    The challenge in them works once, for you, for `NIXFLOW_PASSKEY_TIMEOUT_SECONDS`."""
    rp = RelyingParty.of(app.settings)
    return await app.writer.run(lambda tx: passkeys.registration_options(tx, rp, user=user), ctx)


@router.post("/register", response_model=PasskeyRead, status_code=201)
async def register(body: PasskeyRegistration, user: CurrentUser, app: App, ctx: Ctx) -> PasskeyRead:
    """Keep the passkey the browser made, once its attestation, challenge, origin and RP id verify (400 if not,
    nothing stored; 409 if it is registered already)."""
    rp = RelyingParty.of(app.settings)
    name = body.name.strip()
    added = await app.writer.run(
        lambda tx: passkeys.register(tx, rp, user=user, name=name, credential=body.credential), ctx
    )
    return PasskeyRead(**added)


@router.get("", response_model=list[PasskeyRead])
async def list_passkeys(user: CurrentUser, app: App) -> list[PasskeyRead]:
    """Your passkeys: name, how they connect, when made and last used (never a key)."""
    return [PasskeyRead(**p) for p in await app.db.read(lambda conn: passkeys.listed(conn, user=user))]


@router.patch("/{passkey_id:int}", response_model=PasskeyRead)
async def rename(passkey_id: PathId, body: PasskeyRename, user: CurrentUser, app: App, ctx: Ctx) -> PasskeyRead:
    """Rename one of your passkeys (404 for anyone else's)."""
    name = body.name.strip()
    renamed = await app.writer.run(lambda tx: passkeys.rename(tx, user=user, passkey_id=passkey_id, name=name), ctx)
    return PasskeyRead(**renamed)


@router.delete("/{passkey_id:int}", status_code=204)
async def delete(passkey_id: PathId, user: CurrentUser, app: App, ctx: Ctx) -> Response:
    """Delete one of your passkeys: it signs nobody in from now on (404 for anyone else's)."""
    await app.writer.run(lambda tx: passkeys.remove(tx, user=user, passkey_id=passkey_id), ctx)
    return Response(status_code=204)


@router.post("/login/options")
async def sign_in_options(app: App) -> dict[str, Any]:
    """Options for `navigator.credentials.get()` to sign in without a password: any of your passkeys for this
    site. Public; the challenge in them works once, for `NIXFLOW_PASSKEY_TIMEOUT_SECONDS`."""
    rp = RelyingParty.of(app.settings)
    ctx = EventContext(correlation_id=uuid7(), actor_id=None, source="api")
    return await app.writer.run(lambda tx: passkey_assertions.sign_in_options(tx, rp), ctx)


@router.post("/login", response_model=LoginResponse, dependencies=[Depends(security.require_json)])
async def sign_in(body: PasskeyAssertion, request: Request, response: Response, app: App) -> LoginResponse:
    """Sign in with a passkey (a session cookie and its bearer token, as `/api/auth/login` gives): the assertion
    must answer a challenge from `/login/options` not used before, come from this site's origin and RP id, with
    the user verified, a sign count above the last one, and a user handle that is the passkey owner's, who must
    be active. Anything else: 401, the same body whatever the reason (logged as `user.passkey_sign_in_failed`)."""
    rp = RelyingParty.of(app.settings)
    ctx = EventContext(correlation_id=uuid7(), actor_id=None, source="api")
    verdict = await app.writer.run(lambda tx: passkey_assertions.sign_in(tx, rp, credential=body.credential), ctx)
    if not verdict.accepted or verdict.user_id is None:
        raise Unauthorized(NOT_ACCEPTED)
    return await start_session(app, request, response, user_id=verdict.user_id, method="passkey")
