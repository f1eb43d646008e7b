"""Fuzzing: schemathesis generates requests from /openapi.json against a live `nixflow serve`, as an admin and as a
requester. No answer may be a 5xx, and every answer must match the documented status codes, content types and
schemas."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks
from tests.conftest import PASSWORD

NIXFLOW = [sys.executable, "-m", "nixflow.cli"]
MIN_REQUESTS = 1_000
EXAMPLES_PER_OPERATION = 25
# Calls that would end the fuzzer's own credential; the authorization matrix and session tests cover them.
SKIPPED = {("POST", "/api/auth/logout"), ("DELETE", "/api/auth/tokens/{token_id}")}
SENT: Counter[int] = Counter()

pytestmark = pytest.mark.slow


@dataclass
class Server:
    url: str
    admin: dict[str, str]
    requester: dict[str, str]
    protected_user_ids: set[str]
    victim_id: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home: Path = tmp_path_factory.mktemp("fuzz")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIXFLOW_")}
    env |= {"NIXFLOW_DATABASE_URL": f"sqlite+aiosqlite:///{home / 'fuzz.db'}", "NIXFLOW_SECRET_KEY": "fuzz"}

    def cli(*args: str) -> str:
        done = subprocess.run([*NIXFLOW, *args], cwd=home, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    ids = {
        role: cli(
            "users",
            "create",
            "--email",
            f"{role}@example.com",
            "--name",
            role.title(),
            "--role",
            "admin" if role == "admin" else "requester",
            "--password",
            PASSWORD,
            "--category",
            "Fuzz",
        )
        for role in ("admin", "requester", "victim")
    }
    tokens = {role: cli("tokens", "create", "--email", f"{role}@example.com") for role in ("admin", "requester")}
    port = _free_port()
    process = subprocess.Popen(
        [*NIXFLOW, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=home,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "nixflow serve exited"
            time.sleep(0.1)
        yield Server(
            url,
            {"Authorization": f"Bearer {tokens['admin']}"},
            {"Authorization": f"Bearer {tokens['requester']}"},
            {ids["admin"], ids["requester"]},
            ids["victim"],
        )
    finally:
        process.terminate()
        process.wait(timeout=30)


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]


def _fuzz(operation: Any, mode: GenerationMode, server: Server, failures: list[str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case: Any) -> None:
        params = case.path_parameters or {}
        if str(params.get("user_id")) in server.protected_user_ids:
            # Keep the fuzzer's own accounts alive (a generated PATCH could deactivate them).
            params["user_id"] = int(server.victim_id)
        for headers in (server.admin, server.requester):
            response = case.call(base_url=server.url, headers=headers, timeout=30)
            SENT[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except (Exception, BaseExceptionGroup) as exc:  # collect every finding, then fail once with all of them
                seen = {f.split(":", 1)[0] for f in failures}
                if f"{mode.value} {operation.label}" not in seen:
                    sent = f"path={case.path_parameters} query={case.query} body={case.body!r}"[:300]
                    failures.append(f"{mode.value} {operation.label}: {sent}\n{str(exc)[:600]}")
                return

    with suppress(Unsatisfiable):  # no invalid input exists for some operations (e.g. a GET without parameters)
        run()


def test_generated_requests_never_break_the_api(server: Server) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    failures: list[str] = []
    operations = [r.ok() for r in schema.get_all_operations()]
    for operation in operations:
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, server, failures)
    assert not failures, f"{len(failures)} finding(s):\n" + "\n\n".join(failures)


def test_enough_requests_were_generated(server: Server) -> None:
    total = sum(SENT.values())
    print(f"\nschemathesis sent {total} requests; statuses: {dict(sorted(SENT.items()))}")
    assert total >= MIN_REQUESTS
    assert not [code for code in SENT if code >= 500]
    me = httpx.get(f"{server.url}/api/auth/me", headers=server.admin, timeout=5)
    assert me.status_code == 200  # the fuzzer's admin survived
