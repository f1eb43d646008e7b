"""Second-factor helpers for tests: enrol a user, sign in up to the second step, codes of a given time step."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pyotp

from tests.conftest import PASSWORD, Harness, User


def code_at(secret: str, moment: datetime, steps: int = 0) -> str:
    """The TOTP code of `secret` for the time step `steps` away from `moment`'s."""
    return pyotp.TOTP(secret).at(moment + timedelta(seconds=30 * steps))


async def enrol(h: Harness, user: User, now: datetime) -> tuple[str, list[str]]:
    """Set up TOTP for `user` (confirmed with the code of the step before `now`'s): its secret and recovery codes."""
    started = await h.client.post("/api/auth/mfa/totp", headers=user.headers)
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    confirmed = await h.client.post(
        "/api/auth/mfa/totp/confirm", json={"code": code_at(secret, now, -1)}, headers=user.headers
    )
    assert confirmed.status_code == 200, confirmed.text
    return secret, confirmed.json()["recovery_codes"]


async def sign_in(h: Harness, user: User, password: str = PASSWORD) -> dict[str, Any]:
    """The body of a password sign-in (the client keeps no cookie from it)."""
    response = await h.client.post("/api/auth/login", json={"email": user.email, "password": password})
    h.client.cookies.clear()
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def verify(h: Harness, mfa_token: str, code: str, **extra: Any) -> Any:
    """The second step with `code`, carrying the pending sign-in as a bearer token."""
    response = await h.client.post(
        "/api/auth/mfa/verify", json={"code": code, **extra}, headers={"Authorization": f"Bearer {mfa_token}"}
    )
    return response
