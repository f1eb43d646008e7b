"""Login, logout, who am I, API tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from nixflow import crypto
from nixflow.api import security
from nixflow.api.deps import (
    CSRF_COOKIE,
    DEVICE_COOKIE,
    MFA_COOKIE,
    SESSION_COOKIE,
    App,
    Auth,
    CurrentUser,
    GuardedRoute,
    PathId,
)
from nixflow.api.schemas import LoginRequest, LoginResponse, PasswordChange, TokenCreated, UserRead
from nixflow.bootstrap import NixFlow
from nixflow.config import Settings
from nixflow.domain import mfa
from nixflow.domain.envelope import EventContext
from nixflow.domain.errors import Forbidden, TooManyRequests, Unauthorized
from nixflow.domain.mfa import Pending
from nixflow.ids import uuid7
from nixflow.services import auth, mfa_signin, users
from nixflow.store.db import Tx
from nixflow.store.tables import SYSTEM_USER_ID

router = APIRouter(prefix="/api/auth", tags=["auth"], route_class=GuardedRoute)
BAD_CREDENTIALS = "email or password is wrong"


def _limits(settings: Settings) -> auth.LoginLimits:
    return auth.LoginLimits(
        per_email=settings.login_max_failures_per_email,
        per_address=settings.login_max_failures_per_address,
        window=timedelta(seconds=settings.login_window_seconds),
    )


async def _check_password(app: NixFlow, request: Request, *, email: str, password: str) -> Any | None:
    """The active user with that email and password, or None: under the sign-in rate limits (429 when over),
    each failure logged as `user.login_failed` without the password."""
    address = security.client_address(request, app.settings)
    limits = _limits(app.settings)
    attempt_ctx = EventContext(correlation_id=uuid7(), actor_id=None, source="api")
    wait = await app.writer.run(
        lambda tx: auth.reserve_login_attempt(tx, email=email, address=address, limits=limits), attempt_ctx
    )
    if wait is not None:
        await app.writer.run(
            lambda tx: auth.record_login_failure(tx, email=email, user_id=None, reason="too many attempts"),
            attempt_ctx,
        )
        raise TooManyRequests(f"too many failed sign-ins; try again in {wait} seconds", retry_after=wait)
    row = await app.db.read(lambda conn: users.find_by_email(conn, email=email))
    usable = row is not None and row.active and row.id != SYSTEM_USER_ID
    password_hash = row.password_hash if usable and row is not None else None
    ok = await anyio.to_thread.run_sync(auth.verify_password, password, password_hash)
    if ok and row is not None:
        return row
    user_id = row.id if row is not None else None
    reason = "unknown email" if row is None else ("inactive or system user" if not usable else "wrong password")
    ctx = EventContext(correlation_id=uuid7(), actor_id=None, source="api")
    await app.writer.run(lambda tx: auth.record_login_failure(tx, email=email, user_id=user_id, reason=reason), ctx)
    return None


@router.post("/login", response_model=LoginResponse, dependencies=[Depends(security.require_json)])
async def login(body: LoginRequest, request: Request, response: Response, app: App) -> LoginResponse:
    """Exchange email and password for a session (cookie) and its bearer token; failures are rate limited."""
    email = body.email.strip().lower()
    row = await _check_password(app, request, email=email, password=body.password)
    if row is None:
        raise Unauthorized(BAD_CREDENTIALS)
    return await start_session(app, request, response, user_id=int(row.id), method="password", email=email)


async def start_session(
    app: NixFlow, request: Request, response: Response, *, user_id: int, method: str, email: str | None = None
) -> LoginResponse:
    """The one way a verified person becomes signed in, whatever proved who they are (`method`: password, oidc,
    saml, ldap, passkey): issues the session, sets its cookies on `response` (a redirect, for browser flows) and
    clears the failed sign-ins of `email`.

    A person who still owes a second factor (every method but a passkey, which is one) gets no session but a
    pending sign-in (`mfa_required` or `mfa_enrolment_required`, and `mfa_token`, also set as the `nixflow_mfa`
    cookie), which opens only `/api/auth/mfa/*`; `POST /api/auth/mfa/verify` then calls `issue_session`."""
    if method != "passkey":
        keys = crypto.keyring(app.settings)
        device = request.cookies.get(DEVICE_COOKIE)
        now = app.clock()
        owed = await app.db.read(
            lambda conn: mfa_signin.pending(conn, keys=keys, user_id=user_id, device=device, now=now)
        )
        if owed is not None:
            ctx = EventContext(correlation_id=uuid7(), actor_id=user_id, source="api")
            token = await app.writer.run(
                lambda tx: mfa_signin.open_challenge(
                    tx, keys=keys, user_id=user_id, purpose=owed, method=method, email=email
                ),
                ctx,
            )
            set_cookie(request, response, app, MFA_COOKIE, token, max_age=mfa.CHALLENGE_MINUTES * 60)
            return LoginResponse(
                mfa_required=owed is Pending.VERIFY, mfa_enrolment_required=owed is Pending.ENROL, mfa_token=token
            )
    return await issue_session(app, request, response, user_id=user_id, email=email)


async def issue_session(
    app: NixFlow, request: Request, response: Response, *, user_id: int, email: str | None = None
) -> LoginResponse:
    """Issue a session to a person who proved who they are, every factor included (`start_session` decides)."""
    ctx = EventContext(correlation_id=uuid7(), actor_id=user_id, source="api")
    lifetime = timedelta(hours=app.settings.session_hours)
    keys = crypto.keyring(app.settings)

    def sign_in(tx: Tx) -> auth.IssuedToken:
        if email is not None:
            auth.clear_login_attempts(tx, email=email)
        return auth.issue_token(tx, keys=keys, user_id=user_id, kind="session", lifetime=lifetime)

    issued = await app.writer.run(sign_in, ctx)
    max_age = int(lifetime.total_seconds())
    set_cookie(request, response, app, SESSION_COOKIE, issued.token, max_age=max_age)
    set_cookie(request, response, app, CSRF_COOKIE, issued.csrf, max_age=max_age, httponly=False)
    if MFA_COOKIE in request.cookies:  # the second step is done
        clear_cookie(request, response, app, MFA_COOKIE)
    user = await app.db.read(lambda conn: users.get_user(conn, user_id=user_id))
    return LoginResponse(token=issued.token, csrf_token=issued.csrf, user=UserRead(**user))


def set_cookie(
    request: Request, response: Response, app: NixFlow, name: str, value: str, *, max_age: int, httponly: bool = True
) -> None:
    secure = security.is_https(request.scope, app.settings)
    response.set_cookie(name, value, max_age=max_age, httponly=httponly, samesite="lax", secure=secure, path="/")


def clear_cookie(request: Request, response: Response, app: NixFlow, name: str) -> None:
    """Tell the browser to drop an HttpOnly cookie `set_cookie` made (with the same attributes)."""
    secure = security.is_https(request.scope, app.settings)
    response.delete_cookie(name, httponly=True, samesite="lax", secure=secure, path="/")


@router.post("/logout", status_code=204)
async def logout(credential: Auth, response: Response, app: App) -> Response:
    """End this session (or revoke this token): it stops working at once."""
    ctx = EventContext(correlation_id=uuid7(), actor_id=credential.principal.id, source="api")
    await app.writer.run(lambda tx: auth.revoke(tx, token_id=credential.token_id, user_id=credential.principal.id), ctx)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.post("/password", status_code=204)
async def change_password(body: PasswordChange, request: Request, credential: Auth, app: App) -> Response:
    """Change your own password: the current one is checked (rate limited like sign-in), your other sessions
    end at once, this one and your API tokens keep working."""
    user = credential.principal
    if await _check_password(app, request, email=user.email, password=body.current_password) is None:
        # A well-formed request refused for the credential it carries: 403, like any other refusal (not 422).
        raise Forbidden(
            "the current password is wrong", errors=[{"loc": ["body", "current_password"], "msg": "wrong password"}]
        )
    password_hash = await anyio.to_thread.run_sync(auth.hash_password, body.new_password)
    ctx = EventContext(correlation_id=uuid7(), actor_id=user.id, source="api")

    def change(tx: Tx) -> None:
        auth.clear_login_attempts(tx, email=user.email)  # a right password is not a failed attempt
        auth.set_password(tx, user_id=user.id, password_hash=password_hash, keep_session_id=credential.token_id)

    await app.writer.run(change, ctx)
    return Response(status_code=204)


@router.get("/me", response_model=UserRead)
async def me(user: CurrentUser, app: App) -> UserRead:
    """The signed-in user."""
    return UserRead(**await app.db.read(lambda conn: users.get_user(conn, user_id=user.id)))


@router.post("/tokens", response_model=TokenCreated, status_code=201)
async def create_token(user: CurrentUser, app: App) -> TokenCreated:
    """A new API token for the signed-in user; shown once, stored hashed."""
    ctx = EventContext(correlation_id=uuid7(), actor_id=user.id, source="api")
    keys = crypto.keyring(app.settings)
    issued = await app.writer.run(
        lambda tx: auth.issue_token(tx, keys=keys, user_id=user.id, kind="api", lifetime=None), ctx
    )
    return TokenCreated(id=issued.id, token=issued.token)


class TokenRead(BaseModel):
    id: int
    kind: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


@router.get("/tokens", response_model=list[TokenRead])
async def list_tokens(user: CurrentUser, app: App) -> list[TokenRead]:
    """The signed-in user's sessions and API tokens (never the secrets)."""
    return [TokenRead(**t) for t in await app.db.read(lambda conn: auth.list_tokens(conn, user_id=user.id))]


@router.delete("/tokens/{token_id}", status_code=204)
async def revoke_token(token_id: PathId, user: CurrentUser, app: App) -> Response:
    """Revoke one of your own sessions or API tokens at once (404 for anyone else's)."""
    ctx = EventContext(correlation_id=uuid7(), actor_id=user.id, source="api")
    await app.writer.run(lambda tx: auth.revoke(tx, token_id=token_id, user_id=user.id), ctx)
    return Response(status_code=204)
