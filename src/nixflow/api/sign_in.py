"""The sign-in form's name and password: a local password, else the enabled LDAP directories. Both under the same
rate limits, each failure logged as `user.login_failed` without the password."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio.to_thread
from fastapi import Request

from nixflow import crypto
from nixflow.api import security
from nixflow.bootstrap import NixFlow
from nixflow.config import Settings
from nixflow.directory.ldap import DirectoryUnavailable
from nixflow.domain.envelope import EventContext
from nixflow.domain.errors import DomainError, Forbidden, ServiceUnavailable, TooManyRequests, Unauthorized
from nixflow.ids import uuid7
from nixflow.services import auth, directory_sign_in, local_passwords, users
from nixflow.store.tables import SYSTEM_USER_ID

BAD_CREDENTIALS = "email or password is wrong"
DIRECTORY_DOWN = "the directory could not be reached, so directory accounts cannot sign in now; try again later"


@dataclass(frozen=True)
class SignedIn:
    user_id: int
    method: str  # password | ldap: what start_session is told


def _limits(settings: Settings) -> auth.LoginLimits:
    return auth.LoginLimits(
        per_email=settings.login_max_failures_per_email,
        per_address=settings.login_max_failures_per_address,
        window=timedelta(seconds=settings.login_window_seconds),
    )


def _ctx() -> EventContext:
    return EventContext(correlation_id=uuid7(), actor_id=None, source="api")


async def _reserve_attempt(app: NixFlow, request: Request, *, email: str) -> None:
    """Count this attempt; 429 (and a `user.login_failed`) when the name or the address is over its limit."""
    address = security.client_address(request, app.settings)
    limits = _limits(app.settings)
    wait = await app.writer.run(
        lambda tx: auth.reserve_login_attempt(tx, email=email, address=address, limits=limits), _ctx()
    )
    if wait is not None:
        await _failed(app, email=email, user_id=None, reason="too many attempts")
        raise TooManyRequests(f"too many failed sign-ins; try again in {wait} seconds", retry_after=wait)


async def _failed(app: NixFlow, *, email: str, user_id: int | None, reason: str) -> None:
    await app.writer.run(lambda tx: auth.record_login_failure(tx, email=email, user_id=user_id, reason=reason), _ctx())


async def _local(app: NixFlow, *, email: str, password: str) -> tuple[Any | None, str | None]:
    """The active user whose email and password these are (or None), and why not."""
    row = await app.db.read(lambda conn: users.find_by_email(conn, email=email))
    usable = row is not None and row.active and row.id != SYSTEM_USER_ID
    password_hash = row.password_hash if usable and row is not None else None
    if await anyio.to_thread.run_sync(auth.verify_password, password, password_hash):
        return row, None
    return row, "unknown email" if row is None else ("inactive or system user" if not usable else "wrong password")


async def check_password(app: NixFlow, request: Request, *, email: str, password: str) -> Any | None:
    """The active user with that email and local password, or None; rate limited (429 when over)."""
    await _reserve_attempt(app, request, email=email)
    row, why = await _local(app, email=email, password=password)
    if why is None:
        return row
    await _failed(app, email=email, user_id=row.id if row is not None else None, reason=why)
    return None


async def sign_in(app: NixFlow, request: Request, *, name: str, password: str) -> SignedIn:
    """Who an email (or directory user name) and password sign in as: a local password where the user's role may
    use one (or they are a break-glass admin), else the enabled LDAP directories in turn. 401 when nobody, 403
    when only a local password that is turned off matched, 503 when a directory that might know them is down."""
    await _reserve_attempt(app, request, email=name)
    row, why = await _local(app, email=name, password=password)
    user_id = int(row.id) if row is not None else None
    refusal = None
    if why is None and row is not None:
        if await app.db.read(lambda conn: local_passwords.allows(conn, user_id=int(row.id), role=row.role)):
            return SignedIn(int(row.id), "password")
        why, refusal = "local passwords off", local_passwords.refusal(row.role)
    directory = await _directory(app, name=name, password=password)
    if directory is not None:
        return SignedIn(directory, "ldap")
    await _failed(app, email=name, user_id=user_id, reason=why or "wrong password")
    raise Forbidden(refusal) if refusal else Unauthorized(BAD_CREDENTIALS)


async def _directory(app: NixFlow, *, name: str, password: str) -> int | None:
    """The user the enabled LDAP directories say `name` is, linked or created; None when none of them does."""
    rows = await app.db.read(directory_sign_in.providers)
    if not rows:
        return None
    keys = crypto.keyring(app.settings)
    try:
        found = await anyio.to_thread.run_sync(
            lambda: directory_sign_in.find(rows, keys=keys, login=name, password=password)
        )
    except DirectoryUnavailable:
        await _failed(app, email=name, user_id=None, reason="directory unavailable")
        raise ServiceUnavailable(DIRECTORY_DOWN) from None
    if found is None:
        return None
    try:
        user_id: int = await app.writer.run(lambda tx: directory_sign_in.sign_in(tx, found=found), _ctx())
    except DomainError as exc:  # a deactivated account, an address the directory is not trusted with
        await _failed(app, email=name, user_id=None, reason=f"directory person refused: {exc.detail}"[:200])
        raise
    return user_id
