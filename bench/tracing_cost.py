"""What OpenTelemetry traces cost: the benchmark's automated workload with NIXFLOW_OTEL_ENDPOINT unset and set.

Run: PYTHONPATH=src .venv/bin/python bench/tracing_cost.py [--seconds 10] [--rounds 2]
Each round starts a fresh embedded `nixflow serve` (SQLite) twice, tracing off then on (to a loopback OTLP/HTTP
sink in this process that counts what it receives), and runs the workload of `python -m bench` (POST /api/tickets
"Core switch is down" in category Network: critical, round-robin, SLA) with `wrk` at 32 connections. Prints
request rate, automated tickets/s (first POST to the last `ticket.assigned` commit), p50/p99, the server's CPU
time per automated ticket (the figure least moved by other load on a shared machine) and what was exported.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.commits import SqliteCommitWatcher
from bench.target import Database, create_admin, nixflow_env, set_up_workload, start_api, ticket_body, wait_all_assigned
from bench.wrk import run_wrk


class _Sink:
    """An OTLP/HTTP receiver that answers every export with success and counts the bytes it got."""

    def __init__(self) -> None:
        self.exports = 0
        self.bytes = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                sink.bytes += len(self.rfile.read(length))
                sink.exports += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


def _measure(home: Path, seconds: float, extra: dict[str, str]) -> dict[str, float]:
    home.mkdir()
    db_file = home / "nixflow.db"
    env = nixflow_env(f"sqlite+aiosqlite:///{db_file}", **extra)
    create_admin(env)
    proc, base = start_api(env, home, "nixflow serve")
    database = Database(f"sqlite:///{db_file}")
    try:
        token, category = set_up_workload(base)
        url, auth = f"{base}/api/tickets", f"Bearer {token}"
        with SqliteCommitWatcher(db_file) as watcher:
            run_wrk(url, connections=32, seconds=3, log=home / "wrk-warmup.txt", body=ticket_body(category, "warmup"),
                    auth=auth)  # fmt: skip
            database.wait_quiet(timeout=120)
            before, cpu_before = database.max_ticket_id(), proc.cpu()
            result = run_wrk(url, connections=32, seconds=seconds, log=home / "wrk.txt",
                             body=ticket_body(category, "c32"), auth=auth)  # fmt: skip
            tickets = database.tickets_after(before)
            assigned = wait_all_assigned(tickets, watcher.snapshot, timeout=120)
            database.wait_quiet(timeout=120)
            cpu_ms = (proc.cpu() - cpu_before) * 1000 / max(len(assigned), 1)
        span = max(assigned.values()) - tickets.first_sent
        return {"req/s": result.ok_per_s, "automated/s": len(assigned) / span, "p50": result.p50_ms,
                "p99": result.p99_ms, "cpu ms/ticket": cpu_ms}  # fmt: skip
    finally:
        proc.stop()
        database.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    sink = _Sink()
    runs: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for mode, extra in (("off", {}), ("on", {"NIXFLOW_OTEL_ENDPOINT": sink.url})):
                figures = _measure(Path(tmp) / f"{mode}-{round_}", args.seconds, extra)
                runs[mode].append(figures)
                print(mode, round_, {k: round(v, 1) for k, v in figures.items()}, flush=True)
    print(f"\nspans exported while tracing was on: {sink.exports} OTLP requests, {sink.bytes / 1e6:.1f} MB")
    print("| figure (median of rounds) | tracing off | tracing on | on ÷ off |")
    print("|---|---|---|---|")
    for figure in ("req/s", "automated/s", "p50", "p99", "cpu ms/ticket"):
        off = statistics.median(r[figure] for r in runs["off"])
        on = statistics.median(r[figure] for r in runs["on"])
        print(f"| {figure} | {off:.1f} | {on:.1f} | {on / off:.2f} |")


if __name__ == "__main__":
    main()
