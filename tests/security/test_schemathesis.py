"""Fuzzing: schemathesis runs every phase (examples, coverage, fuzzing, stateful along the schema's links) with every
check against a fresh `nixflow serve`, as an admin, an agent and a requester, on SQLite and on PostgreSQL + Redis.
Its settings are the project's `schemathesis.toml`, the same `st run` uses. Each test starts its own server, so it
stands alone; the seed is printed (replay one with NIXFLOW_FUZZ_SEED=<seed>)."""

from __future__ import annotations

import ast
import os
import secrets
import threading
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema, observations
from tests.conftest import PASSWORD, redis_url
from tests.security import schemathesis_hooks
from tests.security.serving import cli, embedded_env, serve

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("admin", "agent", "requester")

pytestmark = pytest.mark.slow


@dataclass
class Server:
    url: str
    tokens: dict[str, str]
    user_ids: dict[str, str]


def _environment(mode: str, request: pytest.FixtureRequest, home: Path) -> dict[str, str]:
    env = embedded_env(home)
    if mode == "scaleout":
        env["NIXFLOW_DATABASE_URL"] = str(request.getfixturevalue("postgres_database"))
        env["NIXFLOW_REDIS_URL"] = str(redis_url())
        env["NIXFLOW_REDIS_PREFIX"] = str(request.getfixturevalue("redis_prefix"))
    return env


@pytest.fixture
def server(mode: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A fresh `nixflow serve` of this test's own (SQLite file, or a fresh PostgreSQL database and Redis prefix)."""
    env = _environment(mode, request, tmp_path)
    cli(tmp_path, env, "db", "upgrade")
    admin_id = cli(tmp_path, env, "users", "create", "--email", "admin@example.com", "--name", "Admin", "--role",
                   "admin", "--password", PASSWORD, "--category", "Fuzz")  # fmt: skip
    admin = {"Authorization": f"Bearer {cli(tmp_path, env, 'tokens', 'create', '--email', 'admin@example.com')}"}
    with serve(tmp_path, env) as (url, _log):
        user_ids, tokens = {"admin": admin_id}, {"admin": admin["Authorization"][7:]}
        for name, role in (("agent", "agent"), ("requester", "requester"), ("spare", "agent")):
            body = {"email": f"{name}@example.com", "name": name.title(), "role": role, "password": PASSWORD}
            user_ids[name] = str(httpx.post(f"{url}/api/users", json=body, headers=admin, timeout=10).json()["id"])
            login = {"email": body["email"], "password": PASSWORD}
            tokens[name] = httpx.post(f"{url}/api/auth/login", json=login, timeout=10).json()["token"]
        yield Server(url, tokens, user_ids)


def _config(server: Server, role: str, seed: int) -> SchemathesisConfig:
    data: dict[str, Any] = tomllib.loads((ROOT / "schemathesis.toml").read_text())
    data["seed"] = seed
    data["headers"] = {"Authorization": f"Bearer {server.tokens[role]}"}
    return SchemathesisConfig.from_dict(data, base_dir=str(ROOT))


def _failures(event: events.EngineEvent) -> list[str]:
    if not isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
        return []
    found = []
    for case_id, checks in event.recorder.checks.items():
        for check in checks:
            if check.status == Status.FAILURE and check.failure_info is not None:
                case = event.recorder.cases[case_id].value
                sent = f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}"[:400]
                found.append(f"{check.name}: {sent}\n  {str(check.failure_info.failure)[:600]}")
    return found


@pytest.fixture
def one_parse_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hypothesis parses Python source with `ast.parse` (local constants, lambda and filter descriptions) in
    whichever of the engine's worker threads gets there; two threads parsing at once trip a CPython 3.11 bug
    ("SystemError: AST constructor recursion depth mismatch", python/cpython#106905), reported as a run error.
    Parsing is serialised for the run (a lock around `ast.parse`); the requests still go out from two workers,
    and the fuzzing itself is unchanged."""
    lock = threading.Lock()
    parse = ast.parse

    def parse_alone(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return parse(*args, **kwargs)

    monkeypatch.setattr(ast, "parse", parse_alone)
    # schemathesis 4.32 learns links from URLs in response bodies with `urlsplit`, which raises on a URL the fuzzer
    # itself stored (a webhook's "http://[bC.]/"): a crash of the engine, not a finding. Such a value is no link.
    same_origin = observations._same_origin_path

    def same_origin_or_none(value: str, origin: tuple[str, str]) -> str | None:
        try:
            return same_origin(value, origin)
        except ValueError:
            return None

    monkeypatch.setattr(observations, "_same_origin_path", same_origin_or_none)


# Each role on SQLite; on PostgreSQL + Redis the admin only, who reaches every route. What differs between the
# roles is authorisation, which is the same code on both engines (tests/security/test_authz_matrix.py checks every
# route for every role on both); what differs between the engines is storage, which the admin's run reaches
# everywhere. Two runs fewer keep CI's time (each run is about four minutes of a worker).
_RUNS = [
    *(pytest.param("embedded", role, id=f"embedded-{role}") for role in ROLES),
    pytest.param("scaleout", "admin", id="scaleout-admin", marks=[pytest.mark.postgres, pytest.mark.redis]),
]


@pytest.mark.parametrize(("mode", "role"), _RUNS)
@pytest.mark.usefixtures("one_parse_at_a_time")
def test_every_phase_and_check_finds_nothing(server: Server, role: str) -> None:
    seed = int(os.environ.get("NIXFLOW_FUZZ_SEED") or secrets.randbits(64))  # not `random`: hypothesis seeds it
    print(f"\nschemathesis seed {seed} (replay: NIXFLOW_FUZZ_SEED={seed})")
    schemathesis_hooks.KEEP_USERS = {server.user_ids[r] for r in ROLES}
    schemathesis_hooks.SPARE_USER = server.user_ids["spare"]
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json", config=_config(server, role, seed))
    failures: list[str] = []
    errors: list[str] = []
    phases: dict[str, str] = {}
    phase_started: dict[str, float] = {}
    cases = 0
    started = time.monotonic()
    for event in from_schema(schema).execute():
        failures += _failures(event)
        if isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
            cases += len(event.recorder.cases)
        elif isinstance(event, events.NonFatalError | events.FatalError):
            errors.append(str(getattr(event, "value", None) or getattr(event, "exception", event))[:400])
        elif isinstance(event, events.PhaseStarted):
            phase_started[event.phase.name.value] = event.timestamp
        elif isinstance(event, events.PhaseFinished):
            name = event.phase.name.value
            phases[name] = f"{event.status.value} in {event.timestamp - phase_started.get(name, event.timestamp):.0f} s"
    print(f"{cases} cases in {time.monotonic() - started:.0f} s; phases: {phases}")
    assert not failures, f"seed {seed}: {len(failures)} failure(s):\n" + "\n".join(sorted(set(failures)))
    assert not errors, f"seed {seed}: errors:\n" + "\n".join(errors)
    for phase in ("examples", "coverage", "fuzzing", "stateful"):
        assert phases.get(phase, "").startswith("success"), phases
    assert cases >= 300
    me = httpx.get(f"{server.url}/api/auth/me", headers={"Authorization": f"Bearer {server.tokens[role]}"}, timeout=5)
    assert me.status_code == 200 and me.json()["role"] == role  # the fuzzer's own account came through unchanged
