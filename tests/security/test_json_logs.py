"""NIXFLOW_LOG_FORMAT=json on a real `nixflow serve`: every line is one JSON object, a ticket's automation is
logged with its correlation id, and no password, token or message body appears anywhere in the log."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from tests.conftest import PASSWORD
from tests.security.serving import cli, embedded_env, serve

MARKER = "body-marker-7f3a91"


def test_json_log_lines_carry_ids_and_no_secret(tmp_path: Path) -> None:
    env = embedded_env(tmp_path) | {"NIXFLOW_LOG_FORMAT": "json"}
    cli(tmp_path, env, "db", "upgrade")
    create = ["users", "create", "--name", "A", "--role", "admin", "--password", PASSWORD]
    cli(tmp_path, env, *create, "--email", "a@example.com")
    api_token = cli(tmp_path, env, "tokens", "create", "--email", "a@example.com")
    with serve(tmp_path, env, "--access-log") as (base, log):
        login = httpx.post(f"{base}/api/auth/login", json={"email": "a@example.com", "password": PASSWORD}, timeout=10)
        assert login.status_code == 200, login.text
        bearer = {"Authorization": f"Bearer {login.json()['token']}"}
        made = httpx.post(
            f"{base}/api/tickets", json={"title": "Printer", "description": MARKER}, headers=bearer, timeout=10
        )
        assert made.status_code == 201, made.text
        ticket_id = made.json()["id"]
        said = httpx.post(f"{base}/api/tickets/{ticket_id}/comments", json={"body": MARKER}, headers=bearer, timeout=10)
        assert said.status_code == 201, said.text
        reset = httpx.post(f"{base}/api/auth/password-reset", json={"email": "a@example.com"}, timeout=10)
        assert reset.status_code == 202, reset.text
        events = httpx.get(
            f"{base}/api/events", params={"type": "ticket.created"}, headers={"Authorization": f"Bearer {api_token}"}
        ).json()["items"]
        correlation = events[0]["metadata"]["correlation_id"]  # its rules ran inline, before the 201
    text = log.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    automation = [line for line in lines if line["logger"] == "nixflow.automation.engine"]
    assert correlation in {line.get("correlation_id") for line in automation}, automation
    assert all(f"(correlation {line['correlation_id']})" in line["message"] and line["event_id"] for line in automation)
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert access and all(line.get("request_id") for line in access)
    for secret in (PASSWORD, login.json()["token"], login.json()["csrf_token"], api_token, MARKER):
        assert secret not in text
