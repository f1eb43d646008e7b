"""Second-factor pages: the second step of signing in (a code, or the enrolment a role requires) and the admins'
policy with the reset of a person's factor. Enrolment on the account page is `account.html`'s."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from nixflow import crypto
from nixflow.api.deps import MFA_COOKIE, App
from nixflow.api.routes.auth import clear_cookie
from nixflow.domain.mfa import Pending
from nixflow.domain.redirects import safe_next
from nixflow.services import mfa, mfa_signin
from nixflow.services.users import require_admin
from nixflow.web.rendering import PageRoute, PageUser, render, translator_of

router = APIRouter(include_in_schema=False, route_class=PageRoute)
Next = Annotated[str | None, Query(max_length=500)]


async def waiting(request: Request, app: App) -> mfa_signin.Challenge | None:
    """The sign-in this browser has waiting for its second step (the `nixflow_mfa` cookie), if any."""
    token = request.cookies.get(MFA_COOKIE)
    if not token or len(token) > 512:
        return None
    keys, now = crypto.keyring(app.settings), app.clock()
    return await app.db.read(lambda conn: mfa_signin.challenge(conn, keys=keys, token=token, now=now))


@router.get("/login/mfa", response_class=HTMLResponse)
async def second_step(request: Request, app: App, next: Next = None) -> Response:
    """The second step of signing in: a code from the authenticator app or a recovery code, or, when the role
    requires a factor not yet set up, its enrolment. Without a waiting sign-in: back to the sign-in form."""
    target = safe_next(next)
    challenge = await waiting(request, app)
    if challenge is None:  # expired, used, or never there: start again (and forget the stale cookie)
        response = RedirectResponse(f"/login?restart=1&next={quote(target, safe='/')}", status_code=303)
        clear_cookie(request, response, app, MFA_COOKIE)
        return response
    policy = await app.db.read(mfa.policy)
    return await render(
        request,
        "login_mfa.html",
        None,
        next=target,
        enrol=challenge.purpose is Pending.ENROL,
        remember_days=policy.remember_device_days,
        title=translator_of(request).gettext("Two-step sign-in"),
    )


@router.get("/admin/mfa", response_class=HTMLResponse)
async def policy_page(request: Request, user: PageUser, app: App) -> Response:
    """Which roles must have a second factor, remembered devices, and who has one (to reset a lost one)."""
    require_admin(user)
    policy = await app.db.read(mfa.policy)
    enrolled = await app.db.read(mfa.enrolled_people)
    return await render(
        request,
        "admin_mfa.html",
        user,
        title="Two-step sign-in",
        required={r.value for r in policy.required_roles},
        remember_days=policy.remember_device_days,
        enrolled=enrolled,
    )
