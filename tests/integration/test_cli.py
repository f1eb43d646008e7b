"""The `nixflow` command, run as a user would run it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
from tests.cli_helpers import NIXFLOW, cli_env, run_cli
from tests.conftest import PASSWORD


def test_users_tokens_and_the_event_log_from_the_shell(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "db", "upgrade").returncode == 0
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
        "--category",
        "Network",
        "--category",
        "Hardware",
    )
    assert created.returncode == 0, created.stderr
    user_id = int(created.stdout.strip())
    people = run_cli(tmp_path, "users", "list")
    assert people.returncode == 0
    [ops] = [line.split() for line in people.stdout.splitlines() if "ops@example.com" in line]
    assert ops[0] == str(user_id) and "agent" in ops and ops[-2:] == ["Network,", "Hardware"]
    token = run_cli(tmp_path, "tokens", "create", "--email", "ops@example.com")
    assert token.returncode == 0 and len(token.stdout.strip()) > 30
    listing = run_cli(tmp_path, "events", "list", "--type", "user.created")
    assert listing.returncode == 0
    assert "user.created" in listing.stdout and f"user:{user_id}" in listing.stdout
    assert "correlation" in listing.stdout.splitlines()[0]
    stats = run_cli(tmp_path, "events", "stats")
    assert stats.returncode == 0 and "total:" in stats.stdout and "workflow.category_created" in stats.stdout
    event_id = listing.stdout.splitlines()[2].split()[-1]
    replay = run_cli(tmp_path, "events", "replay", event_id)
    assert replay.returncode == 0 and "1 event(s)" in replay.stdout
    for days in (["--older-than-days", "1"], ["--days", "1"]):
        cleanup = run_cli(tmp_path, "events", "cleanup", *days)
        assert cleanup.returncode == 0 and "deleted 0" in cleanup.stdout


def test_mistakes_get_one_clear_line(tmp_path: Path) -> None:
    duplicate = [
        run_cli(
            tmp_path,
            "users",
            "create",
            "--email",
            "a@example.com",
            "--name",
            "A",
            "--role",
            "admin",
            "--password",
            PASSWORD,
        )
        for _ in range(2)
    ][1]
    assert duplicate.returncode == 1 and "exists already" in duplicate.stderr and "Traceback" not in duplicate.stderr
    bad_role = run_cli(
        tmp_path, "users", "create", "--email", "b@example.com", "--name", "B", "--role", "boss", "--password", PASSWORD
    )
    assert bad_role.returncode != 0 and "--role" in bad_role.stderr
    bad_env = run_cli(tmp_path, "events", "list", env={"NIXFLOW_DEDUP_TTL_SECONDS": "soon"})
    assert bad_env.returncode == 2
    assert bad_env.stderr.strip().count("\n") == 0 and "NIXFLOW_DEDUP_TTL_SECONDS" in bad_env.stderr
    unknown = run_cli(tmp_path, "events", "replay", "no-such-event")
    assert unknown.returncode == 1 and "no event" in unknown.stderr


def test_serve_refuses_a_bad_setting_with_one_line(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "serve", "--port", "1", env={"NIXFLOW_DATABASE_URL": "mysql://nope"})
    assert result.returncode == 2
    assert "NIXFLOW_DATABASE_URL" in result.stderr and "Traceback" not in result.stderr


def test_serve_runs_the_whole_story(tmp_path: Path) -> None:
    run_cli(
        tmp_path,
        "users",
        "create",
        "--email",
        "boss@example.com",
        "--name",
        "Boss",
        "--role",
        "admin",
        "--password",
        PASSWORD,
    )
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [*NIXFLOW, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=cli_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                import time

                time.sleep(0.05)
        login = httpx.post(f"{base}/api/auth/login", json={"email": "boss@example.com", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        ticket = httpx.post(f"{base}/api/tickets", json={"title": "Core switch is down"}, headers=headers).json()
        events = httpx.get(f"{base}/api/events", params={"type": "ticket.created"}, headers=headers).json()["items"]
        assert events[0]["aggregate_id"] == str(ticket["id"]) and events[0]["metadata"]["correlation_id"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    listing = run_cli(tmp_path, "events", "list", "--type", "ticket.created")
    assert f"ticket:{ticket['id']}" in listing.stdout
