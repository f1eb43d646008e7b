"""Request dependencies: the running NixFlow, the current user, the event context."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from nixflow.api import security
from nixflow.bootstrap import NixFlow
from nixflow.domain.errors import Unauthorized
from nixflow.domain.json_types import MAX_ID
from nixflow.events.envelope import EventContext
from nixflow.ids import uuid7
from nixflow.services import auth
from nixflow.services.users import Principal

SESSION_COOKIE = "nixflow_session"
# An id in a path: bounded, so an absurd number is a 422, not a database overflow (500).
PathId = Annotated[int, Path(ge=0, le=MAX_ID)]
CSRF_COOKIE = "nixflow_csrf"


async def get_nixflow(request: Request) -> NixFlow:
    """The NixFlow this app runs on."""
    nixflow: NixFlow = request.app.state.nixflow
    return nixflow


App = Annotated[NixFlow, Depends(get_nixflow)]


def bearer_or_cookie(request: Request) -> str | None:
    """The credential a request carries: `Authorization: Bearer`, else the session cookie."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return request.cookies.get(SESSION_COOKIE) or None


def _has_bearer(request: Request) -> bool:
    return request.headers.get("authorization", "")[:7].lower() == "bearer "


async def authenticated(request: Request, app: App) -> auth.Authenticated:
    """The request's valid credential, or 401; a cookie session must also pass the CSRF check (403)."""
    token = bearer_or_cookie(request)
    if token is None or len(token) > 512:
        raise Unauthorized("authentication required")
    found = await app.authenticate(token)
    if found is None:
        raise Unauthorized("authentication required")
    security.check_csrf(request, found, via_cookie=not _has_bearer(request))
    request.state.auth = found
    return found


Auth = Annotated[auth.Authenticated, Depends(authenticated)]


async def current_user(credential: Auth) -> Principal:
    """The user the request acts for."""
    return credential.principal


CurrentUser = Annotated[Principal, Depends(current_user)]


async def event_context(request: Request, user: CurrentUser) -> EventContext:
    """A new correlation for this request (or the caller's `X-Correlation-ID`), acting as the user."""
    supplied = request.headers.get("x-correlation-id", "")
    correlation = supplied if 0 < len(supplied) <= 36 and supplied.replace("-", "").isalnum() else uuid7()
    return EventContext(correlation_id=correlation, actor_id=user.id, source="api")


Ctx = Annotated[EventContext, Depends(event_context)]
