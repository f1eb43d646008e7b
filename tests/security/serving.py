"""A real `nixflow serve` process for the tests that must see NixFlow as others do: over TCP, with its own log."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from tests.scaleout.cluster import free_port, wait_until

NIXFLOW = [sys.executable, "-m", "nixflow.cli"]


def embedded_env(home: Path) -> dict[str, str]:
    """The environment of an embedded NixFlow on a SQLite file in `home` (none of the caller's NIXFLOW_ settings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIXFLOW_")}
    env["NIXFLOW_DATABASE_URL"] = f"sqlite+aiosqlite:///{home / 'nixflow.db'}"
    return env


def cli(home: Path, env: dict[str, str], *args: str) -> str:
    """Run `nixflow <args>`; its output."""
    done = subprocess.run([*NIXFLOW, *args], cwd=home, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@contextmanager
def serve(home: Path, env: dict[str, str], *args: str) -> Iterator[tuple[str, Path]]:
    """`nixflow serve <args>` on a free loopback port until the block ends: its base URL and its log file."""
    port = free_port()
    log = home / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*NIXFLOW, "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            cwd=home,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{base}/api/health", timeout=1).status_code == 200, timeout=60, what="serve")
        yield base, log
    finally:
        process.terminate()
        process.wait(timeout=30)
