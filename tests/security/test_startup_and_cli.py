"""Secrets at start-up, no default accounts, and token management from the shell."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from tests.cli_helpers import run_cli
from tests.conftest import PASSWORD, make_settings, start

from nixflow.config import ConfigError, load_settings
from nixflow.store.tables import users


@pytest.mark.parametrize("secret", [None, "", "   "])
def test_serve_in_production_without_a_secret_key_stops_with_one_clear_line(tmp_path: Path, secret: str | None) -> None:
    env = {"NIXFLOW_ENV": "production"} | ({} if secret is None else {"NIXFLOW_SECRET_KEY": secret})
    result = run_cli(tmp_path, "serve", "--port", "0", env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "NIXFLOW_SECRET_KEY" in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "cli.db").exists()  # it stopped before touching anything


@pytest.mark.parametrize("command", ["serve", "worker"])
@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://nixflow@127.0.0.1:1/nixflow",  # nothing listens on port 1
        "sqlite+aiosqlite:///{tmp}/no/such/folder/nixflow.db",
    ],
)
def test_a_database_that_cannot_be_opened_stops_start_up_with_one_line(tmp_path: Path, command: str, url: str) -> None:
    args = [command, "--port", "0"] if command == "serve" else [command]
    result = run_cli(tmp_path, *args, env={"NIXFLOW_DATABASE_URL": url.format(tmp=tmp_path)})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nixflow: NIXFLOW_DATABASE_URL: cannot open the database"), lines
    assert "Traceback" not in result.stderr


def test_production_settings_with_a_secret_key_load() -> None:
    settings = load_settings(env="production", secret_key="a-long-random-string-from-the-operator")
    assert settings.env == "production"
    with pytest.raises(ConfigError, match="NIXFLOW_SECRET_KEY"):
        load_settings(env="production", secret_key=None)


def test_development_needs_no_secret_key() -> None:
    assert load_settings(env="development", secret_key=None).secret_key is None


async def test_a_fresh_database_has_no_account_that_can_sign_in(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    async for harness in start(make_settings(url)):
        for email, password in [("admin@example.com", "admin"), ("admin", "admin"), ("system@nixflow.invalid", "")]:
            response = await harness.client.post("/api/auth/login", json={"email": email, "password": password})
            assert response.status_code in (401, 422)
    engine = create_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    with engine.connect() as conn:
        rows = conn.execute(select(users.c.id, users.c.role, users.c.password_hash)).all()
    engine.dispose()
    assert [(r.id, r.role, r.password_hash) for r in rows] == [(0, "system", None)]


async def test_tokens_are_listed_and_revoked_from_the_shell(tmp_path: Path) -> None:
    created = run_cli(
        tmp_path,
        "users",
        "create",
        "--email",
        "ops@example.com",
        "--name",
        "Ops",
        "--role",
        "agent",
        "--password",
        PASSWORD,
    )
    assert created.returncode == 0, created.stderr
    token = run_cli(tmp_path, "tokens", "create", "--email", "ops@example.com").stdout.strip()
    listing = run_cli(tmp_path, "tokens", "list", "--email", "ops@example.com")
    assert listing.returncode == 0, listing.stderr
    assert token not in listing.stdout
    data = [line.split() for line in listing.stdout.splitlines()[2:]]
    assert [(row[0], row[1], row[-1]) for row in data] == [(data[0][0], "api", "-")]

    revoked = run_cli(tmp_path, "tokens", "revoke", data[0][0])
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    after = run_cli(tmp_path, "tokens", "list", "--email", "ops@example.com").stdout.splitlines()[2].split()
    assert after[-1] != "-"  # a revocation time
    again = run_cli(tmp_path, "tokens", "revoke", data[0][0])
    assert again.returncode == 1 and "already revoked" in again.stderr

    async for harness in start(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")):
        me = await harness.client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 401

    unknown = run_cli(tmp_path, "tokens", "list", "--email", "ghost@example.com")
    assert unknown.returncode == 1 and "no user" in unknown.stderr
