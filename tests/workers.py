"""`nixflow worker` processes for a test, configured as the test's own NixFlow: started, killed, stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from nixflow.config import Settings


def environment(settings: Settings) -> dict[str, str]:
    """This process's environment with `settings` as NIXFLOW_* variables."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        env[f"NIXFLOW_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return {**os.environ, **env}


class Workers:
    """Worker processes of one test, each logging to a file of its own; all stopped at the end."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        self.env = environment(settings)
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"worker-{len(self.procs)}.log", "ab")  # noqa: SIM115 - the child owns it
        proc = subprocess.Popen(
            [sys.executable, "-m", "nixflow.cli", "worker"], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
