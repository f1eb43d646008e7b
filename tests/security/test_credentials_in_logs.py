"""No credential in any log line: a real `nixflow serve` (access log on) is reached with `?token=` and
`?ticket=` in URLs, over HTTP and the WebSocket, and its whole log is then searched for them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from tests.conftest import PASSWORD
from tests.security.serving import cli, embedded_env, serve
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from nixflow.api.redaction import redact


def test_redact_replaces_every_credential_value_and_nothing_else() -> None:
    line = '127.0.0.1:5 - "WebSocket /api/ws?after=abc&token=s3cr3t&TICKET=t1ck" [accepted]'
    assert redact(line) == '127.0.0.1:5 - "WebSocket /api/ws?after=abc&token=[redacted]&TICKET=[redacted]" [accepted]'
    assert redact("GET /api/tickets?status=open") == "GET /api/tickets?status=open"


def test_no_log_line_of_nixflow_serve_holds_a_token_or_ticket(tmp_path: Path) -> None:
    env = embedded_env(tmp_path)
    cli(tmp_path, env, "db", "upgrade")
    cli(
        tmp_path,
        env,
        "users",
        "create",
        "--email",
        "a@example.com",
        "--name",
        "A",
        "--role",
        "agent",
        "--password",
        PASSWORD,
    )
    token = cli(tmp_path, env, "tokens", "create", "--email", "a@example.com")
    with serve(tmp_path, env, "--access-log") as (base, log):
        bearer = {"Authorization": f"Bearer {token}"}
        ticket = httpx.post(f"{base}/api/ws/ticket", headers=bearer, timeout=5).json()["ticket"]
        ws_base = base.replace("http://", "ws://")

        async def sockets() -> None:
            for query in (f"token={token}", f"ticket={ticket}"):
                async with connect(f"{ws_base}/api/ws?{query}") as ws:
                    assert ws.protocol.state.name == "OPEN"  # accepted (and logged as such)
            with pytest.raises(InvalidStatus):  # a ticket works once; the refusal is logged, redacted too
                async with connect(f"{ws_base}/api/ws?ticket={ticket}"):
                    pass

        asyncio.run(asyncio.wait_for(sockets(), 60))
        assert httpx.get(f"{base}/api/auth/me?token={token}", headers=bearer, timeout=5).status_code == 200
    text = log.read_text()
    assert '"WebSocket /api/ws?token=[redacted]" [accepted]' in text  # the lines are there, the secrets are not
    assert '"WebSocket /api/ws?ticket=[redacted]" [accepted]' in text
    assert "/api/auth/me?token=[redacted]" in text
    for secret in (token, ticket):
        assert secret not in text
