"""bench/lua/mixed.lua under the real wrk, against a small HTTP server that keeps ticket statuses like NixFlow's
transition route (409 when a ticket already has the status asked for): each request's latency goes to its own
operation, own tickets move open ↔ pending without a conflict, and a run that starts out of step heals itself."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from bench.mixed import Op, Setup, run_mixed

# .ci/run installs wrk; under CI a missing wrk fails instead of skipping (like PostgreSQL or Redis).
pytestmark = pytest.mark.skipif(
    shutil.which("wrk") is None and not os.environ.get("CI"), reason="needs wrk (apt-get install wrk)"
)

SLOW_MS = 50
MIX = [
    Op("slow", "read", 30, "GET", "/slow/{ticket}"),
    Op("fast", "read", 40, "GET", "/fast/{ticket}"),
    Op("status", "write", 30, "POST", "/tickets/{own}/transition", '{"status": "{status}"}'),
]


class Helpdesk:
    def __init__(self, owned: list[int]) -> None:
        self.status = {t: "open" for t in owned}
        self.seen_tickets: set[int] = set()
        self.unauthorised = 0
        self.lock = threading.Lock()


def _handler(desk: Helpdesk) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: object) -> None:
            pass

        def answer(self, code: int) -> None:
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def do_GET(self) -> None:
            if self.headers.get("Authorization") != "Bearer t":
                desk.unauthorised += 1
            kind, ticket = self.path.strip("/").split("/")
            with desk.lock:
                desk.seen_tickets.add(int(ticket))
            if kind == "slow":
                time.sleep(SLOW_MS / 1000)
            self.answer(200)

        def do_POST(self) -> None:
            ticket = int(self.path.split("/")[2])
            wanted = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["status"]
            with desk.lock:
                conflict = desk.status[ticket] == wanted
                desk.status[ticket] = wanted
            self.answer(409 if conflict else 200)

    return Handler


@pytest.fixture
def helpdesk() -> Iterator[tuple[str, Helpdesk]]:
    desk = Helpdesk(owned=[11, 12, 13, 14])
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(desk))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", desk
    finally:
        server.shutdown()
        server.server_close()


def test_each_operation_keeps_its_own_latencies_and_own_tickets_move_without_conflict(
    helpdesk: tuple[str, Helpdesk], tmp_path: Path
) -> None:
    base, desk = helpdesk
    setup = Setup(auth="Bearer t", ticket_max=5, owned=[11, 12, 13, 14])
    run = run_mixed(base, MIX, setup, connections=2, seconds=1, log=tmp_path / "wrk.txt")
    slow, fast, status = run.ops["slow"], run.ops["fast"], run.ops["status"]
    assert slow.latencies_ms and fast.latencies_ms and status.latencies_ms
    assert min(slow.latencies_ms) >= SLOW_MS  # a slow answer is never counted as another operation's
    assert fast.p50 < SLOW_MS
    assert status.errors == 0
    assert desk.seen_tickets <= {1, 2, 3, 4, 5} and desk.unauthorised == 0
    total = sum(len(s.latencies_ms) + s.errors for s in run.ops.values())
    assert abs(total - run.wrk.requests) <= 2  # wrk counts what was answered; response() saw each of them


def test_a_run_that_starts_out_of_step_costs_at_most_one_conflict_per_own_ticket(
    helpdesk: tuple[str, Helpdesk], tmp_path: Path
) -> None:
    base, desk = helpdesk
    desk.status.update({11: "pending", 13: "pending"})  # moved by an earlier run; the script assumes open
    setup = Setup(auth="Bearer t", ticket_max=5, owned=[11, 12, 13, 14])
    run = run_mixed(base, MIX, setup, connections=2, seconds=1, log=tmp_path / "wrk.txt")
    assert 1 <= run.ops["status"].errors <= 2
    assert len(run.ops["status"].latencies_ms) > 4
