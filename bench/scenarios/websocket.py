"""WebSocket fan-out: 1,000 and 5,000 clients connected to one embedded `nixflow serve`; one ticket at a time is
created, and the time from its POST until each client receives its `ticket.created` event is recorded; the next
ticket is created once every client has the previous one (or after 30 s).

The clients are Python (websockets' Sans-I/O protocol under asyncio, bench/ws_clients.py) in two processes on the
same cores as the server: what they measure includes their own scheduling. Memory per connection: the server's
RSS with every client connected, less its RSS just before they connected, over the number of clients.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import time

import httpx

from bench.procs import Proc
from bench.results import percentile
from bench.scenarios import Ctx
from bench.target import TITLE, create_admin, nixflow_env, set_up_workload, start_api
from bench.tools import REPO_DIR, log

COUNTS = (1_000, 5_000)
QUICK_COUNTS = (200, 1_000)
CLIENT_PROCESSES = 2
EVENTS = 5  # tickets created, one after another, per client count
WAIT_ALL_S = 30.0  # per event, at most (bounds the run when the server falls far behind)


def run(ctx: Ctx) -> None:
    home = ctx.workdir / "websocket"
    home.mkdir()
    env = nixflow_env(f"sqlite+aiosqlite:///{home / 'nixflow.db'}")
    create_admin(env)
    server, base = start_api(env, ctx.workdir, "nixflow serve (WebSocket)")
    try:
        token, category = set_up_workload(base)
        p50s, p99s = [], []
        for count in QUICK_COUNTS if ctx.quick else COUNTS:
            p50, p99 = _fan_out(ctx, server, base, token, category, count)
            p50s.append((float(count), p50))
            p99s.append((float(count), p99))
        ctx.results.series["ws p50"] = p50s
        ctx.results.series["ws p99"] = p99s
    finally:
        ctx.peak("websocket", server)
        server.stop()


def _fan_out(ctx: Ctx, server: Proc, base: str, token: str, category: int, count: int) -> tuple[float, float]:
    log(f"websocket: connecting {count:,} clients")
    rss_before = server.rss_kib()
    ws_url = base.replace("http://", "ws://") + f"/api/ws?token={token}"
    share = [count // CLIENT_PROCESSES + (1 if i < count % CLIENT_PROCESSES else 0) for i in range(CLIENT_PROCESSES)]
    clients = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.ws_clients", ws_url, str(n)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(ctx.workdir / f"ws-clients-{count}-{i}.log", "w"),  # noqa: SIM115 - the child owns it
            text=True,
            cwd=REPO_DIR,
        )
        for i, n in enumerate(share)
    ]
    procs = [Proc(name=f"WebSocket clients {i + 1}/{len(clients)}", pid=c.pid) for i, c in enumerate(clients)]
    try:
        connected = failed = 0
        for client in clients:
            words = _read_line(client, timeout=300).split()
            if not words or words[0] != "READY":
                raise RuntimeError(f"a client process did not get ready: {' '.join(words) or 'no output'}")
            connected += int(words[1])
            failed += int(words[2])
        rss_after = server.rss_kib()
        time.sleep(1.0)
        sent: dict[str, float] = {}
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            for i in range(EVENTS):
                at = time.time()
                response = http.post(
                    "/api/tickets", json={"title": TITLE, "description": f"fan-out {i}", "category_id": category}
                )
                response.raise_for_status()
                sent[str(response.json()["id"])] = at
                _wait_all_received(clients, connected * (i + 1), deadline=time.monotonic() + WAIT_ALL_S)
                server.sample_peak()
        received: dict[str, list[float]] = {}
        for client, proc in zip(clients, procs, strict=True):
            proc.sample_peak()
            assert client.stdin is not None
            client.stdin.write("DUMP\n")
            client.stdin.flush()
            for ticket, times in json.loads(_read_line(client, timeout=60)).items():
                received.setdefault(ticket, []).extend(times)
    finally:
        for client in clients:
            try:
                client.wait(timeout=30)
            except subprocess.TimeoutExpired:
                client.kill()
                client.wait()
    for proc in procs:
        if proc.peak_rss_kib:
            ctx.results.peaks.append((f"websocket, {count:,} clients", proc.name, proc.peak_rss_kib / 1024))
    samples = [(t - sent[ticket]) * 1000 for ticket in sent for t in received.get(ticket, [])]
    missing = connected * len(sent) - len(samples)
    slowest = [max((t - sent[k]) * 1000 for t in received[k]) for k in sent if received.get(k)]
    p50, p99 = percentile(samples, 50), percentile(samples, 99)
    note = (
        f"{connected:,} connected ({failed} failed); {len(sent)} events, {len(samples):,} deliveries"
        + (f", {missing:,} missing" if missing else "")
        + (f"; last client of an event: median {percentile(slowest, 50):.0f} ms" if slowest else "")
    )
    ctx.results.add(f"nf.ws.{count}.p50", f"WebSocket, {count:,} clients: POST → event received, p50", "ms", p50)
    ctx.results.add(f"nf.ws.{count}.p99", f"WebSocket, {count:,} clients: POST → event received, p99", "ms", p99,
                    note=note)  # fmt: skip
    per_conn = (rss_after - rss_before) / max(connected, 1)
    before = f"RSS before connecting: {rss_before / 1024:.0f} MiB"
    ctx.results.add(f"nf.ws.{count}.rss", f"WebSocket, {count:,} clients: server RSS", "MiB", rss_after / 1024,
                    note=f"{per_conn:.0f} KiB per connection ({before})")  # fmt: skip
    ctx.results.add(f"nf.ws.{count}.per_conn", f"WebSocket, {count:,} clients: server memory per connection", "KiB",
                    per_conn)  # fmt: skip
    return p50, p99


def _wait_all_received(clients: list[subprocess.Popen[str]], expected: int, *, deadline: float) -> None:
    """Until the client processes together hold `expected` receipts, or the deadline."""
    while time.monotonic() < deadline:
        total = 0
        for client in clients:
            assert client.stdin is not None
            client.stdin.write("COUNT\n")
            client.stdin.flush()
            total += int(_read_line(client, timeout=30) or 0)
        if total >= expected:
            return
        time.sleep(0.05)


def _read_line(client: subprocess.Popen[str], *, timeout: float) -> str:
    assert client.stdout is not None
    ready, _, _ = select.select([client.stdout], [], [], timeout)
    if not ready:
        raise TimeoutError("a WebSocket client process did not answer in time")
    return client.stdout.readline().strip()
