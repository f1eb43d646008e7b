"""Changing a password: your own through the API (current one checked), an operator's reset from the shell."""

from __future__ import annotations

import itertools
from pathlib import Path

from tests.cli_helpers import run_cli
from tests.conftest import PASSWORD, Harness, User

NEW = "a much longer passphrase"


async def sign_in(harness: Harness, email: str, password: str) -> dict[str, str] | None:
    """Bearer headers of a new session, or None when the credentials are refused."""
    response = await harness.client.post("/api/auth/login", json={"email": email, "password": password})
    return {"Authorization": f"Bearer {response.json()['token']}"} if response.status_code == 200 else None


async def test_a_user_changes_their_password_and_their_other_sessions_end(harness: Harness, agent: User) -> None:
    here = await sign_in(harness, agent.email, PASSWORD)
    elsewhere = await sign_in(harness, agent.email, PASSWORD)
    assert here and elsewhere
    changed = await harness.client.post(
        "/api/auth/password", json={"current_password": PASSWORD, "new_password": NEW}, headers=here
    )
    assert changed.status_code == 204, changed.text

    assert await sign_in(harness, agent.email, PASSWORD) is None
    assert await sign_in(harness, agent.email, NEW) is not None
    assert (await harness.client.get("/api/auth/me", headers=here)).status_code == 200  # this session goes on
    assert (await harness.client.get("/api/auth/me", headers=elsewhere)).status_code == 401  # the other one ended
    assert (await harness.client.get("/api/auth/me", headers=agent.headers)).status_code == 200  # API token stays

    await harness.settle()
    [event] = await harness.events(type="user.password_changed")
    assert event["data"] == {"user_id": agent.id, "by_id": agent.id}
    assert PASSWORD not in str(event) and NEW not in str(event)


async def test_a_wrong_current_password_or_a_short_new_one_changes_nothing(harness: Harness, agent: User) -> None:
    wrong = await harness.client.post(
        "/api/auth/password", json={"current_password": "not my password", "new_password": NEW}, headers=agent.headers
    )
    assert wrong.status_code == 403 and wrong.json()["errors"][0]["loc"] == ["body", "current_password"]
    short = await harness.client.post(
        "/api/auth/password", json={"current_password": PASSWORD, "new_password": "short"}, headers=agent.headers
    )
    assert short.status_code == 422
    assert await sign_in(harness, agent.email, PASSWORD) is not None
    await harness.settle()
    assert await harness.events(type="user.password_changed") == []
    [failure] = await harness.events(type="user.login_failed")
    assert failure["data"] == {"email": agent.email, "reason": "wrong password"}


async def test_changing_it_often_is_not_mistaken_for_guessing(harness: Harness, agent: User) -> None:
    passwords = [PASSWORD] + [f"passphrase number {n}" for n in range(7)]
    for old, new in itertools.pairwise(passwords):
        changed = await harness.client.post(
            "/api/auth/password", json={"current_password": old, "new_password": new}, headers=agent.headers
        )
        assert changed.status_code == 204, changed.text
    assert await sign_in(harness, agent.email, passwords[-1]) is not None


async def test_guessing_the_current_password_is_rate_limited_like_sign_in(harness: Harness, agent: User) -> None:
    statuses = []
    for n in range(7):
        response = await harness.client.post(
            "/api/auth/password", json={"current_password": f"guess {n}", "new_password": NEW}, headers=agent.headers
        )
        statuses.append(response.status_code)
    assert statuses[:5] == [403] * 5 and statuses[5:] == [429, 429]
    assert int(response.headers["retry-after"]) > 0


def test_an_operator_resets_a_password_from_the_shell(tmp_path: Path) -> None:
    created = run_cli(
        tmp_path, "users", "create", "--email", "ops@example.com", "--name", "Ops", "--role", "admin",
        "--password", PASSWORD,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    reset = run_cli(tmp_path, "users", "set-password", "--email", "ops@example.com", "--password", NEW)
    assert reset.returncode == 0 and "password changed" in reset.stdout, reset.stderr
    unknown = run_cli(tmp_path, "users", "set-password", "--email", "ghost@example.com", "--password", NEW)
    # The last line: a warning (say, of the development secret key) may come before it.
    assert (
        unknown.returncode == 1
        and unknown.stderr.strip().splitlines()[-1] == "nixflow: no user with email ghost@example.com"
    )
    short = run_cli(tmp_path, "users", "set-password", "--email", "ops@example.com", "--password", "short")
    assert short.returncode == 1 and "at least 8 characters" in short.stderr
