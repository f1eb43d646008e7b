"""A test whose server is missing is skipped on a developer's machine and fails under CI=true (`.ci/run` sets it),
so a CI run that lost PostgreSQL, Redis or Dovecot cannot pass by skipping what needs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# One test that needs each server, and the variable that tells the suite where it runs.
NEEDS = {
    "Dovecot": (
        "NIXFLOW_TEST_IMAP_URL",
        "tests/integration/test_mailbox.py::test_a_pass_takes_every_unseen_message_and_flags_it_after_the_commit[embedded]",
    ),
    "PostgreSQL": (
        "NIXFLOW_TEST_POSTGRES_URL",
        "tests/integration/test_writer.py::test_a_unit_that_lost_a_race_to_another_connection_runs_again_and_a_stale_version_does_not",
    ),
    "Redis": ("NIXFLOW_TEST_REDIS_URL", "tests/contract/test_transport_contract.py::TestRedisStreamsTransport"),
}


def _run_without_servers(*, ci: str | None) -> subprocess.CompletedProcess[str]:
    """Those tests in a child pytest, as a developer (no CI) or `.ci/run` (CI=true) would run them, with no server."""
    variables = {variable for variable, _ in NEEDS.values()}
    env = {k: v for k, v in os.environ.items() if k not in variables and k != "CI"}
    if ci is not None:
        env["CI"] = ci
    tests = [test for _, test in NEEDS.values()]
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", *tests]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow
def test_a_missing_server_skips_outside_ci_and_fails_under_it() -> None:
    developer = _run_without_servers(ci=None)
    assert developer.returncode == 0, developer.stdout + developer.stderr
    for server in NEEDS:
        assert "SKIPPED" in developer.stdout and f"{server} not running" in developer.stdout, server

    ci = _run_without_servers(ci="true")
    assert ci.returncode == 1, ci.stdout + ci.stderr
    assert "SKIPPED" not in ci.stdout and " skipped" not in ci.stdout
    for server in NEEDS:
        assert f"{server} not running: start it with `source scripts/services.sh start` (CI=true" in ci.stdout, server
