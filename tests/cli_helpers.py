"""The `nixflow` command run in a subprocess, as an operator would run it, on a SQLite file in a test's folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

NIXFLOW = [sys.executable, "-m", "nixflow.cli"]


def cli_env(tmp_path: Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment minus its NIXFLOW_* settings, on `tmp_path/cli.db`, then `env` on top."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NIXFLOW_")}
    return environment | {"NIXFLOW_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}", **(env or {})}


def run_cli(tmp_path: Path, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `nixflow ARGS` in `tmp_path` and capture what it prints."""
    return subprocess.run(
        [*NIXFLOW, *args], cwd=tmp_path, env=cli_env(tmp_path, env), capture_output=True, text=True, timeout=120
    )


def mail_receive(
    tmp_path: Path, database_url: str, raw: bytes, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """`nixflow mail receive` as an MTA runs it: the message on standard input, mail for help@example.com."""
    settings = {"NIXFLOW_DATABASE_URL": database_url, "NIXFLOW_MAIL_FROM": "help@example.com", **(env or {})}
    return subprocess.run(
        [*NIXFLOW, "mail", "receive"],
        input=raw,
        cwd=tmp_path,
        env=cli_env(tmp_path, settings),
        capture_output=True,
        timeout=120,
    )
