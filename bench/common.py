"""Helpers shared by the benchmarks: a real `nixflow serve` process on a free port."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

PASSWORD = "bench-password-1"
# `nixflow users create ...` for the admin every benchmark signs in as.
CREATE_ADMIN = (
    "users",
    "create",
    "--email",
    "bench@example.com",
    "--name",
    "Bench",
    "--role",
    "admin",
    "--password",
    PASSWORD,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nixflow(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "nixflow.cli", *args], env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


@contextmanager
def server(
    workdir: Path, *, extra_env: dict[str, str] | None = None, args: Sequence[str] = ()
) -> Iterator[tuple[str, dict[str, str]]]:
    """Start `nixflow serve` on a fresh database; yield its base URL and an admin's auth header."""
    env = {**os.environ, "NIXFLOW_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'bench.db'}", **(extra_env or {})}
    nixflow(*CREATE_ADMIN, env=env)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "nixflow.cli", "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        token = httpx.post(f"{base}/api/auth/login", json={"email": "bench@example.com", "password": PASSWORD}).json()[
            "token"
        ]
        yield base, {"Authorization": f"Bearer {token}"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def percentiles(samples_ms: Sequence[float]) -> str:
    ordered = sorted(samples_ms)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"median {statistics.median(ordered):.2f} ms, p99 {p99:.2f} ms, max {ordered[-1]:.2f} ms (n={len(ordered)})"
