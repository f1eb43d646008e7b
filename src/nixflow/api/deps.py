"""Request dependencies: the running NixFlow, the current user, the event context."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.requests import HTTPConnection

from nixflow import crypto
from nixflow.api import security
from nixflow.bootstrap import NixFlow
from nixflow.domain.envelope import EventContext
from nixflow.domain.errors import Forbidden, Unauthorized
from nixflow.domain.json_types import MAX_ID
from nixflow.domain.values import Role
from nixflow.ids import uuid7
from nixflow.observe import logs
from nixflow.services import auth
from nixflow.services.users import Principal

SESSION_COOKIE = "nixflow_session"
# An id in a path: bounded, so an absurd number is a 422, not a database overflow (500).
PathId = Annotated[int, Path(ge=0, le=MAX_ID)]
CSRF_COOKIE = "nixflow_csrf"
MFA_COOKIE = "nixflow_mfa"  # a sign-in waiting for its second step (`services/mfa_signin.py`)
DEVICE_COOKIE = "nixflow_mfa_device"  # a device remembered for the second factor
_CHECKED = "nixflow.credential"


async def get_nixflow(request: Request) -> NixFlow:
    """The NixFlow this app runs on."""
    nixflow: NixFlow = request.app.state.nixflow
    return nixflow


App = Annotated[NixFlow, Depends(get_nixflow)]


@dataclass(frozen=True)
class Credential:
    """The token a request or a WebSocket handshake carries (None: none), and whether the session cookie did."""

    token: str | None
    from_cookie: bool


def credential_of(connection: HTTPConnection, *, query: bool = False) -> Credential:
    """The credential of a request or a WebSocket handshake: with `query` (handshakes, whose headers a browser
    cannot set) `?token=` first; then `Authorization: Bearer`; else the session cookie."""
    if query and (token := connection.query_params.get("token")):
        return Credential(token, from_cookie=False)
    header = connection.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return Credential(header[7:].strip() or None, from_cookie=False)
    return Credential(connection.cookies.get(SESSION_COOKIE) or None, from_cookie=True)


async def written_from(request: Request) -> str:
    """Where a comment is written: `web` (the session cookie of the web UI) or `api` (a bearer token)."""
    return "web" if credential_of(request).from_cookie else "api"


Source = Annotated[str, Depends(written_from)]


async def authenticated(request: Request, app: App) -> auth.Authenticated:
    """The request's valid credential, or 401; a cookie session must also pass the CSRF check (403)."""
    known: auth.Authenticated | None = request.scope.get(_CHECKED)
    if known is not None:  # already checked for this request, before its body was read (GuardedRoute)
        return known
    credential = credential_of(request)
    token = credential.token
    if token is None or len(token) > 512:
        raise Unauthorized("authentication required")
    found = await app.authenticate(token)
    if found is None:
        raise Unauthorized("authentication required")
    security.check_csrf(request, found, keys=crypto.keyring(app.settings), via_cookie=credential.from_cookie)
    await app.note_use(found, security.origin_of(request, app.settings))
    request.scope[_CHECKED] = found  # the scope, not request.state: some servers share one state dict
    return found


Auth = Annotated[auth.Authenticated, Depends(authenticated)]


async def current_user(credential: Auth) -> Principal:
    """The user the request acts for."""
    return credential.principal


CurrentUser = Annotated[Principal, Depends(current_user)]


def context_for(request: Request, actor_id: int | None) -> EventContext:
    """The request's correlation (`metrics.correlation_of`: the caller's `X-Correlation-ID` or a new one), acting as
    `actor_id`."""
    return EventContext(correlation_id=logs.CORRELATION_ID.get() or uuid7(), actor_id=actor_id, source="api")


async def event_context(request: Request, user: CurrentUser) -> EventContext:
    """The request's correlation, acting as the user."""
    return context_for(request, user.id)


Ctx = Annotated[EventContext, Depends(event_context)]


class RoleGate:
    """A route dependency refusing (403) callers whose role does not allow the route; see `GuardedRoute`."""

    def __init__(self, allows: Callable[[Principal], bool], refusal: str) -> None:
        self.allows = allows
        self.refusal = refusal

    def check(self, user: Principal) -> None:
        """Raise Forbidden unless `user` may call the route."""
        if not self.allows(user):
            raise Forbidden(self.refusal)

    async def __call__(self, user: CurrentUser) -> Principal:
        self.check(user)
        return user


admin_only = RoleGate(lambda user: user.is_admin, "admin role required")
# Requesters go on to the ticket: another's is 404, never 403, so ids do not leak; their own is 403 there.
approvers_only = RoleGate(
    lambda user: user.role != Role.AGENT or user.can_approve, "only admins and approvers decide approvals"
)
staff_only = RoleGate(lambda user: user.is_staff, "agents and admins only")
AdminUser = Annotated[Principal, Depends(admin_only)]
ApproverUser = Annotated[Principal, Depends(approvers_only)]
StaffUser = Annotated[Principal, Depends(staff_only)]


async def reader(request: Request, app: App) -> Principal | None:
    """The signed-in user; None for a caller with no credential when the knowledge base is public
    (`NIXFLOW_KB_PUBLIC=true`), else 401. A credential that is sent must be valid."""
    if credential_of(request).token is None and app.settings.kb_public:
        return None
    return (await authenticated(request, app)).principal


Reader = Annotated[Principal | None, Depends(reader)]


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


class GuardedRoute(APIRoute):
    """A route that checks who calls (401, CSRF, role gates: 403) before FastAPI reads and validates the body.

    FastAPI parses the JSON body before it solves any dependency, and validates it alongside them, so a
    caller without the right could otherwise learn the schema from a 422 where it should get 401 or 403.
    """

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()
        calls = list(_calls(self.dependant))
        gates = [call for call in calls if isinstance(call, RoleGate)]
        if not gates and authenticated not in calls and current_user not in calls:
            return handler

        async def guarded(request: Request) -> Response:
            credential = await authenticated(request, await get_nixflow(request))
            for gate in gates:
                gate.check(credential.principal)
            response: Response = await handler(request)
            return response

        return guarded
