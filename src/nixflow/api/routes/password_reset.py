"""Forgotten passwords: ask for a one-time link by mail, then set a new password with it. Both are public."""

from __future__ import annotations

from datetime import timedelta

import anyio.to_thread
from fastapi import APIRouter, Depends, Request, Response

from nixflow import crypto
from nixflow.api import security
from nixflow.api.deps import App, GuardedRoute
from nixflow.api.schemas import PasswordResetAccepted, PasswordResetConfirm, PasswordResetRequest
from nixflow.config import Settings
from nixflow.domain.envelope import EventContext
from nixflow.domain.errors import TooManyRequests
from nixflow.ids import uuid7
from nixflow.services import auth, password_reset

router = APIRouter(prefix="/api/auth", tags=["auth"], route_class=GuardedRoute)
ACCEPTED = "If an account uses this address, a link to set a new password is on its way. Check your mail."


def reset_policy(settings: Settings) -> password_reset.ResetPolicy:
    """The reset rules of `settings`: link lifetime, request limits (in the sign-in window), mail on or off."""
    return password_reset.ResetPolicy(
        lifetime=timedelta(minutes=settings.password_reset_minutes),
        limits=auth.LoginLimits(
            per_email=settings.password_reset_max_per_email,
            per_address=settings.password_reset_max_per_address,
            window=timedelta(seconds=settings.login_window_seconds),
        ),
        mail_on=settings.smtp_url is not None,
    )


@router.post(
    "/password-reset",
    status_code=202,
    response_model=PasswordResetAccepted,
    dependencies=[Depends(security.require_json)],
)
async def request_reset(body: PasswordResetRequest, request: Request, app: App) -> PasswordResetAccepted:
    """Mail a one-time link to set a new password, if an active account uses this address. The answer is the
    same either way; requests are rate limited per address and per client (429 with Retry-After)."""
    email = body.email.strip().lower()
    address = security.client_address(request, app.settings)
    keys, policy, token = crypto.keyring(app.settings), reset_policy(app.settings), password_reset.new_token()
    ctx = EventContext(correlation_id=uuid7(), actor_id=None, source="api")
    wait = await app.writer.run(
        lambda tx: password_reset.request(tx, keys=keys, email=email, address=address, token=token, policy=policy),
        ctx,
    )
    if wait is not None:
        raise TooManyRequests(f"too many reset requests; try again in {wait} seconds", retry_after=wait)
    return PasswordResetAccepted(detail=ACCEPTED)


@router.post("/password-reset/confirm", status_code=204, dependencies=[Depends(security.require_json)])
async def confirm_reset(body: PasswordResetConfirm, app: App) -> Response:
    """Set a new password with a reset link's token: the link is used up and every session of the account
    ends (API tokens keep working, as with a password change). An unknown, expired, used or replaced token
    is a 400 and changes nothing."""
    keys = crypto.keyring(app.settings)
    # Checked before hashing, so a stream of bad tokens costs no password hashing.
    user_id = await app.db.read(lambda conn: password_reset.check(conn, keys=keys, token=body.token, now=app.clock()))
    password_hash = await anyio.to_thread.run_sync(auth.hash_password, body.password)
    ctx = EventContext(correlation_id=uuid7(), actor_id=user_id, source="api")
    await app.writer.run(
        lambda tx: password_reset.confirm(tx, keys=keys, token=body.token, password_hash=password_hash), ctx
    )
    return Response(status_code=204)
