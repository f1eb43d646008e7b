"""Who calls a second-factor route: a signed-in user, or a sign-in waiting for its second step (the `nixflow_mfa`
cookie, or its token as a bearer), which no other route accepts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response

from nixflow import crypto
from nixflow.api import security
from nixflow.api.deps import MFA_COOKIE, GuardedRoute, credential_of, get_nixflow
from nixflow.bootstrap import NixFlow
from nixflow.domain.errors import Unauthorized
from nixflow.domain.mfa import Pending
from nixflow.services import mfa_signin
from nixflow.services.users import Principal

_CALLER = "nixflow.mfa_caller"


@dataclass(frozen=True)
class MfaCaller:
    """Who calls a second-factor route: a signed-in user (`challenge` None) or a sign-in waiting for its step."""

    user: Principal
    challenge: mfa_signin.Challenge | None


async def _resolve(request: Request, app: NixFlow, accepts: frozenset[Pending | None]) -> MfaCaller:
    """The caller, if it is of a kind in `accepts` (None: a session or API token), else 401."""
    credential = credential_of(request)
    token = credential.token if credential.token and len(credential.token) <= 512 else None
    keys = crypto.keyring(app.settings)
    if token is not None and None in accepts and (found := await app.authenticate(token)) is not None:
        security.check_csrf(request, found, keys=keys, via_cookie=credential.from_cookie)
        return MfaCaller(found.principal, None)
    waiting = token if token is not None and not credential.from_cookie else request.cookies.get(MFA_COOKIE)
    if waiting and len(waiting) <= 512:
        now = app.clock()
        found_c = await app.db.read(lambda conn: mfa_signin.challenge(conn, keys=keys, token=waiting, now=now))
        if found_c is not None and found_c.purpose in accepts:
            return MfaCaller(found_c.user, found_c)
    raise Unauthorized("authentication required")


def route_class(*accepts: Pending | None) -> type[GuardedRoute]:
    """A route class whose routes take only callers of these kinds (None: a session or API token), resolved
    before the body is read (so a refused caller never learns the schema from a 422)."""

    class MfaRoute(GuardedRoute):
        def get_route_handler(self) -> Callable[[Request], Any]:
            handler = super().get_route_handler()

            async def resolved(request: Request) -> Response:
                request.scope[_CALLER] = await _resolve(request, await get_nixflow(request), frozenset(accepts))
                response: Response = await handler(request)
                return response

            return resolved

    return MfaRoute


async def mfa_caller(request: Request) -> MfaCaller:
    """The caller `route_class` resolved for this request."""
    caller: MfaCaller = request.scope[_CALLER]
    return caller


Caller = Annotated[MfaCaller, Depends(mfa_caller)]
