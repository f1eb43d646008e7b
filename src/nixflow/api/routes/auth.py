"""Login, logout, who am I, API tokens."""

from __future__ import annotations

from datetime import datetime, timedelta

import anyio.to_thread
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from nixflow import crypto
from nixflow.api import security, sign_in
from nixflow.api.deps import (
    CSRF_COOKIE,
    DEVICE_COOKIE,
    MFA_COOKIE,
    SESSION_COOKIE,
    App,
    Auth,
    Ctx,
    CurrentUser,
    GuardedRoute,
    PathId,
)
from nixflow.api.schemas import LanguageChange, LoginRequest, LoginResponse, PasswordChange, TokenCreated, UserRead
from nixflow.bootstrap import NixFlow
from nixflow.domain import mfa
from nixflow.domain.envelope import EventContext
from nixflow.domain.errors import Forbidden
from nixflow.domain.mfa import Pending
from nixflow.ids import uuid7
from nixflow.services import auth, mfa_signin, user_language, users
from nixflow.store.db import Tx

router = APIRouter(prefix="/api/auth", tags=["auth"], route_class=GuardedRoute)


@router.post("/login", response_model=LoginResponse, dependencies=[Depends(security.require_json)])
async def login(body: LoginRequest, request: Request, response: Response, app: App) -> LoginResponse:
    """Exchange email (or directory user name) and password for a session (cookie) and its bearer token: a local
    password, else the enabled LDAP directories; failures are rate limited. 403 when the role's local passwords are
    off, 503 when a directory is down."""
    email = body.email.strip().lower()
    signed_in = await sign_in.sign_in(app, request, name=email, password=body.password)
    return await start_session(app, request, response, user_id=signed_in.user_id, method=signed_in.method, email=email)


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
    origin = security.origin_of(request, app.settings)

    def sign_in(tx: Tx) -> auth.IssuedToken:
        if email is not None:
            auth.clear_login_attempts(tx, email=email)
        return auth.issue_token(tx, keys=keys, user_id=user_id, kind="session", lifetime=lifetime, origin=origin)

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
    if await sign_in.check_password(app, request, email=user.email, password=body.current_password) is None:
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


@router.patch("/me", response_model=UserRead)
async def set_my_language(body: LanguageChange, user: CurrentUser, app: App, ctx: Ctx) -> UserRead:
    """Choose your language and time zone (pages, dates and mail to you); null goes back to your browser's language
    and the instance's zone, a field left out stays. 422 for a language NixFlow does not ship or an unknown zone."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    await app.writer.run(lambda tx: user_language.set_language(tx, actor=user, changes=changes), ctx)
    return UserRead(**await app.db.read(lambda conn: users.get_user(conn, user_id=user.id)))


@router.post("/tokens", response_model=TokenCreated, status_code=201)
async def create_token(request: Request, user: CurrentUser, app: App) -> TokenCreated:
    """A new API token for the signed-in user; shown once, stored hashed."""
    ctx = EventContext(correlation_id=uuid7(), actor_id=user.id, source="api")
    keys = crypto.keyring(app.settings)
    origin = security.origin_of(request, app.settings)
    issued = await app.writer.run(
        lambda tx: auth.issue_token(tx, keys=keys, user_id=user.id, kind="api", lifetime=None, origin=origin), ctx
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
