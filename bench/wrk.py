"""Drive `wrk` with bench/lua/load.lua and read its WRK_RESULT line."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.tools import BENCH_DIR

LUA = BENCH_DIR / "lua" / "load.lua"


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    errors_http: int
    errors_socket: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def ok_per_s(self) -> float:
        """Successful (2xx/3xx) responses per second."""
        return (self.requests - self.errors_http) / self.duration_s if self.duration_s else 0.0

    @property
    def note(self) -> str:
        parts = []
        if self.errors_http:
            parts.append(f"{self.errors_http} HTTP 4xx/5xx (not counted)")
        if self.errors_socket:
            parts.append(f"{self.errors_socket} socket errors/timeouts")
        return "; ".join(parts)


def parse_wrk_result(output: str) -> WrkResult:
    """The figures of the `WRK_RESULT key=value ...` line that load.lua prints."""
    for line in output.splitlines():
        if line.startswith("WRK_RESULT "):
            values = dict(part.split("=", 1) for part in line.split()[1:])
            return WrkResult(
                requests=int(values["requests"]),
                duration_s=int(values["duration_us"]) / 1e6,
                errors_http=int(values["http4xx5xx"]),
                errors_socket=int(values["sockerr"]),
                p50_ms=float(values["p50_ms"]),
                p90_ms=float(values["p90_ms"]),
                p99_ms=float(values["p99_ms"]),
                max_ms=float(values["max_ms"]),
            )
    tail = output.strip().splitlines()[-1:] or ["no output"]
    raise RuntimeError(f"wrk printed no result: {tail[0]}")


def wrk_command(url: str, *, connections: int, seconds: float, threads: int = 1, script: Path = LUA) -> list[str]:
    return [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]


def wrk_env(*, body: str = "", auth: str = "", rate: float = 0) -> dict[str, str]:
    return {**os.environ, "WRK_BODY": body, "WRK_AUTH": auth, "WRK_RATE": str(rate) if rate else ""}


def start_wrk(
    url: str, *, connections: int, seconds: float, log: Path, body: str = "", auth: str = "", rate: float = 0
) -> subprocess.Popen[str]:
    """Start wrk (one thread) in the background; finish it with `finish_wrk`."""
    return subprocess.Popen(
        wrk_command(url, connections=connections, seconds=seconds),
        env=wrk_env(body=body, auth=auth, rate=rate),
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish_wrk(proc: subprocess.Popen[str], log: Path, *, seconds: float) -> WrkResult:
    try:
        proc.wait(timeout=seconds + 40)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise RuntimeError("wrk did not finish in time") from None
    return parse_wrk_result(log.read_text(errors="replace"))


def run_wrk(
    url: str, *, connections: int, seconds: float, log: Path, body: str = "", auth: str = "", rate: float = 0
) -> WrkResult:
    """One bounded wrk run; its output is kept in `log`."""
    proc = start_wrk(url, connections=connections, seconds=seconds, log=log, body=body, auth=auth, rate=rate)
    return finish_wrk(proc, log, seconds=seconds)
