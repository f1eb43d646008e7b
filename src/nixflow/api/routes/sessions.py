"""Your sessions: every live session and API token, where and when it was last used; ending one, all, or all of
a user's (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from nixflow.api.deps import CSRF_COOKIE, SESSION_COOKIE, App, Auth, Ctx, GuardedRoute, PathId, admin_only
from nixflow.services import auth, sessions, users
from nixflow.store.db import Tx

router = APIRouter(prefix="/api/auth/sessions", tags=["auth"], route_class=GuardedRoute)
admin_router = APIRouter(
    prefix="/api/users", tags=["users"], route_class=GuardedRoute, dependencies=[Depends(admin_only)]
)


class SessionRead(BaseModel):
    """A session (signed in through the web) or an API token; never its secret."""

    id: int
    kind: Literal["session", "api"]
    created_at: datetime
    created_address: str | None
    created_agent: str | None
    last_used_at: datetime | None  # recorded at most once a minute
    last_address: str | None
    last_agent: str | None
    expires_at: datetime | None
    current: bool  # the one this request came with


class SessionsEnded(BaseModel):
    sessions_ended: int
    api_tokens_revoked: int


@router.get("", response_model=list[SessionRead])
async def list_sessions(credential: Auth, app: App) -> list[dict[str, Any]]:
    """Your live sessions and API tokens, the one asking first, then the most recently used."""
    me, now = credential.principal.id, app.clock()
    return await app.db.read(lambda conn: sessions.listed(conn, user_id=me, now=now, current_id=credential.token_id))


@router.delete("/{session_id}", status_code=204)
async def end_session(session_id: PathId, credential: Auth, app: App, ctx: Ctx, response: Response) -> None:
    """End one of your sessions or API tokens at once (404 for anyone else's, or one already ended)."""
    await app.writer.run(lambda tx: auth.revoke(tx, token_id=session_id, user_id=credential.principal.id), ctx)
    if session_id == credential.token_id:
        _drop_cookies(response)


@router.delete("", response_model=SessionsEnded)
async def end_sessions(
    credential: Auth,
    app: App,
    ctx: Ctx,
    response: Response,
    keep_current: Annotated[bool, Query(description="Keep the session or token making this request.")] = True,
) -> SessionsEnded:
    """End all your sessions and API tokens at once, but the one asking unless `keep_current=false`."""
    keep = credential.token_id if keep_current else None
    ended = await app.writer.run(
        lambda tx: sessions.end_and_emit(tx, "user.sessions_ended", user_id=credential.principal.id, keep_id=keep), ctx
    )
    if keep is None:
        _drop_cookies(response)
    return _answer(ended)


def _drop_cookies(response: Response) -> None:
    """The session the request came with has ended: the browser forgets its cookies."""
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


def _answer(ended: sessions.Ended) -> SessionsEnded:
    return SessionsEnded(sessions_ended=ended.sessions, api_tokens_revoked=ended.api_tokens)


@admin_router.get("/{user_id}/sessions", response_model=list[SessionRead])
async def user_sessions(user_id: PathId, app: App) -> list[dict[str, Any]]:
    """A user's live sessions and API tokens (admin); 404 for an unknown user."""
    now = app.clock()

    def read(conn: Any) -> list[dict[str, Any]]:
        users.get_user(conn, user_id=user_id)
        return sessions.listed(conn, user_id=user_id, now=now, current_id=None)

    return await app.db.read(read)


@admin_router.delete("/{user_id}/sessions", response_model=SessionsEnded)
async def end_user_sessions(user_id: PathId, app: App, ctx: Ctx) -> SessionsEnded:
    """End every session and API token of a user at once (admin; a lost laptop): `user.sessions_ended`."""

    def end(tx: Tx) -> sessions.Ended:
        users.get_user(tx.conn, user_id=user_id)
        return sessions.end_and_emit(tx, "user.sessions_ended", user_id=user_id)

    return _answer(await app.writer.run(end, ctx))
