"""A helpdesk's day: one embedded `nixflow serve` on a grown database with 500 WebSocket clients connected, and wrk
(bench/lua/mixed.lua, 32 connections, one thread each) sending agents' reads (~70 %), comments and status changes
(~20 %) and new tickets (~10 %); the latency of every operation is kept apart. django-helpdesk gets the same mix
where its REST API has the routes, on as many seeded tickets. NixFlow runs the mix once more without the WebSocket
clients, just before: what the 500 connections cost.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Sequence

import httpx

from bench.growth import epoch_for, grow
from bench.mixed import Kind, MixedRun, Op, Setup, run_mixed
from bench.results import MIXED_READS_P99, percentile
from bench.scenarios import Ctx
from bench.scenarios.peers import Django, django_server
from bench.scenarios.websocket import _read_line
from bench.target import Database, create_admin, nixflow_env, set_up_workload, start_api, ticket_body
from bench.tools import REPO_DIR, log

CONNECTIONS = 32
SEED, QUICK_SEED = 5_000, 2_000  # tickets grown before the run
WS_CLIENTS = 500
OWN_PER_CONNECTION = 2  # tickets whose status one connection moves between open and pending
COMMENT = '{"body": "Looking into it (bench %N%)"}'


def nixflow_mix(category: int, agent: int) -> list[Op]:
    """The mix, on NixFlow's API (CONTRACT.md)."""
    return [
        Op("queue_open", "read", 12, "GET", "/api/tickets?status=open&limit=50"),
        Op("queue_assignee", "read", 10, "GET", f"/api/tickets?assignee_id={agent}&limit=50"),
        Op("queue_high", "read", 10, "GET", "/api/tickets?priority=high&limit=50"),
        Op("ticket", "read", 14, "GET", "/api/tickets/{ticket}"),
        Op("comments", "read", 12, "GET", "/api/tickets/{ticket}/comments"),
        Op("timeline", "read", 12, "GET", "/api/tickets/{ticket}/events"),
        Op("comment", "write", 12, "POST", "/api/tickets/{ticket}/comments", COMMENT),
        Op("status", "write", 8, "POST", "/api/tickets/{own}/transition", '{"status": "{status}"}'),
        Op("create", "create", 10, "POST", "/api/tickets", ticket_body(category, "mixed")),
    ]


# django-helpdesk's DRF API lists tickets filtered by status only, and its ticket carries its follow-ups: its one
# list takes the weight of the three queue reads, its ticket retrieve that of the ticket page's three reads.
DJANGO_LACKS = (
    "django-helpdesk's REST API has no assignee or priority filter (its queue list takes those reads' weight) and "
    "no event timeline; a ticket's follow-ups come inside the ticket (its retrieve takes the comments and timeline "
    "reads' weight); a status change is a PATCH of the ticket between Open (1) and Reopened (2), it has no pending. "
    "Each of its ticket reads, list or retrieve, loads every accessible ticket first (TicketViewSet.get_queryset "
    "calls set_custom_field_values on each), so a read costs seconds at a few thousand tickets and most requests "
    "queued behind its one worker end in wrk's 10 s timeout"
)


def django_mix(django: Django) -> list[Op]:
    api = "/helpdesk/api"
    comment = '{"ticket": {ticket}, "comment": "Looking into it", "public": true}'
    return [
        Op("queue_open", "read", 32, "GET", f"{api}/tickets/?status=1&page_size=50"),
        Op("ticket", "read", 38, "GET", f"{api}/tickets/{{ticket}}/"),
        Op("comment", "write", 12, "POST", f"{api}/followups/", comment),
        Op("status", "write", 8, "PATCH", f"{api}/tickets/{{own}}/", '{"status": {status}}'),
        Op("create", "create", 10, "POST", f"{api}/tickets/", django.create_body()),
    ]


def run(ctx: Ctx) -> None:
    size = QUICK_SEED if ctx.quick else SEED
    _run_nixflow(ctx, size)
    _run_django(ctx, size)


def _run_nixflow(ctx: Ctx, size: int) -> None:
    home = ctx.workdir / "mixed"
    home.mkdir()
    url = f"sqlite+aiosqlite:///{home / 'nixflow.db'}"
    env = nixflow_env(url)
    create_admin(env)
    proc, base = start_api(env, ctx.workdir, "nixflow serve (mixed setup)")
    token, category = set_up_workload(base)
    proc.stop()
    log(f"mixed: growing the database to {size:,} tickets")
    have = asyncio.run(grow(url, start=epoch_for(size), to=size))
    proc, base = start_api(env, ctx.workdir, "nixflow serve (mixed)")
    database = Database(f"sqlite:///{home / 'nixflow.db'}")
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as api:
            agent = next(u["id"] for u in api.get("/api/users").json() if u["name"] == "ana")
            owned = _open_own_tickets(api, 3 * CONNECTIONS * OWN_PER_CONNECTION)
        # each run moves tickets of its own, so each starts as its script assumes
        warm, alone, loaded = (Setup(f"Bearer {token}", have, owned[i::3]) for i in range(3))
        mix = nixflow_mix(category, agent)
        run_mixed(base, mix, warm, connections=CONNECTIONS, seconds=ctx.warmup, log=ctx.workdir / "wrk-mixed-w")
        database.wait_quiet(timeout=120)
        log(f"mixed: NixFlow, {CONNECTIONS} connections, no WebSocket client, {ctx.seconds:.0f} s")
        quiet = run_mixed(base, mix, alone, connections=CONNECTIONS, seconds=ctx.seconds,
                          log=ctx.workdir / "wrk-mixed-alone.txt")  # fmt: skip
        database.wait_quiet(timeout=120)
        clients = _connect_ws(ctx, base, token)
        try:
            log(f"mixed: NixFlow, {CONNECTIONS} connections, {WS_CLIENTS} WebSocket clients, {ctx.seconds:.0f} s")
            result = run_mixed(base, mix, loaded, connections=CONNECTIONS, seconds=ctx.seconds,
                               log=ctx.workdir / "wrk-mixed.txt")  # fmt: skip
        finally:
            received = _close(clients)
        database.wait_quiet(timeout=120)
    finally:
        ctx.peak("mixed", proc)
        proc.stop()
        database.close()
    pushed = f"{have:,} tickets grown; {WS_CLIENTS} WebSocket clients received {received:,} ticket.created frames"
    _add(ctx, "nf.mixed", "NixFlow", mix, result, pushed)
    ctx.results.add(MIXED_READS_P99, "mixed: agents' reads while writes go on, p99", "ms",
                    percentile(result.kind_samples(mix, "read"), 99), note=_kinds_note(mix, result))  # fmt: skip
    ctx.results.add("nf.mixed.alone.rps", "mixed without WebSocket clients: all operations, c=32", "req/s",
                    quiet.wrk.ok_per_s, note=quiet.wrk.note)  # fmt: skip
    ctx.results.add("nf.mixed.alone.reads.p99", "mixed without WebSocket clients: reads, p99", "ms",
                    percentile(quiet.kind_samples(mix, "read"), 99), note=_kinds_note(mix, quiet))  # fmt: skip


def _run_django(ctx: Ctx, size: int) -> None:
    with django_server(ctx, "helpdesk-mixed", seed=size) as django:
        mix = django_mix(django)
        owned = list(range(size - CONNECTIONS * OWN_PER_CONNECTION + 1, size + 1))  # the newest: seeded Open
        setup = Setup(auth=django.auth, ticket_max=size, owned=owned, statuses=("1", "2"))
        # Warmed by one request of each read: a wrk warm-up would leave its 32 requests queued behind the one
        # worker, seconds each, and they would take the measured run's time.
        with httpx.Client(base_url=django.base, headers={"Authorization": django.auth}, timeout=120) as api:
            for op in mix:
                if op.method == "GET":
                    api.get(op.path.replace("{ticket}", "1")).raise_for_status()
        log(f"mixed: django-helpdesk, {CONNECTIONS} connections, {ctx.seconds:.0f} s")
        result = run_mixed(django.base, mix, setup, connections=CONNECTIONS, seconds=ctx.seconds,
                           log=ctx.workdir / "wrk-django-mixed.txt")  # fmt: skip
    _add(ctx, "django.mixed", "django-helpdesk", mix, result, f"{size:,} tickets seeded; {DJANGO_LACKS}")
    ctx.results.add("django.mixed.reads.p99", "django-helpdesk mixed: reads while writes go on, p99", "ms",
                    percentile(result.kind_samples(mix, "read"), 99), note=_kinds_note(mix, result),
                    group="peer")  # fmt: skip


def _add(ctx: Ctx, prefix: str, who: str, mix: Sequence[Op], result: MixedRun, note: str) -> None:
    """Total req/s, then p50 and p99 of each operation (beside django-helpdesk's where it has it)."""
    peer = "django.mixed" if prefix == "nf.mixed" else None
    group = "peer" if peer is None else ""
    ctx.results.add(f"{prefix}.rps", f"{who} mixed: all operations, c={CONNECTIONS}", "req/s", result.wrk.ok_per_s,
                    note="; ".join(filter(None, [note, result.wrk.note])), group=group,
                    peer=f"{peer}.rps" if peer else None)  # fmt: skip
    for op in mix:
        samples = result.ops.get(op.name)
        if samples is None:
            continue
        errors = ", ".join(f"{n} x {code}" for code, n in sorted(samples.statuses.items()))
        label = f"{who} mixed: {op.name} ({op.kind}, {op.weight} %), {op.method} {op.path}"
        for pct, value in (("p50", samples.p50), ("p99", samples.p99)):
            key = f"{prefix}.{op.name}.{pct}"
            ctx.results.add(key, f"{label}, {pct}", "ms", value, group=group,
                            note=f"{len(samples.latencies_ms)} answered" + (f"; errors {errors}" if errors else ""),
                            peer=f"{peer}.{op.name}.{pct}" if peer else None)  # fmt: skip


def _kinds_note(mix: Sequence[Op], result: MixedRun) -> str:
    kinds: tuple[Kind, ...] = ("read", "write", "create")
    parts = []
    for kind in kinds:
        samples = result.kind_samples(mix, kind)
        parts.append(f"{kind}s {len(samples)}: p50 {percentile(samples, 50):.1f} ms, p99 {percentile(samples, 99):.1f}")
    return "; ".join(parts)


def _open_own_tickets(api: httpx.Client, count: int) -> list[int]:
    """`count` new tickets moved to open (one bulk request): the ones the status changes move to and fro."""
    found = api.get("/api/tickets", params={"status": "new", "limit": count})
    found.raise_for_status()
    ids = [int(t["id"]) for t in found.json()["items"]]
    if len(ids) < count:
        raise RuntimeError(f"only {len(ids)} new tickets for the status changes, {count} needed")
    moved = api.post("/api/tickets/bulk", json={"ticket_ids": ids, "actions": {"status": "open"}}, timeout=600)
    moved.raise_for_status()
    if moved.json()["failed"]:
        raise RuntimeError(f"opening the status changes' tickets: {moved.json()['failed']} of {count} refused")
    return ids


def _connect_ws(ctx: Ctx, base: str, token: str) -> subprocess.Popen[str]:
    """WS_CLIENTS WebSocket clients (bench/ws_clients.py), connected before the load starts."""
    ws_url = base.replace("http://", "ws://") + f"/api/ws?token={token}"
    clients = subprocess.Popen(
        [sys.executable, "-m", "bench.ws_clients", ws_url, str(WS_CLIENTS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=open(ctx.workdir / "ws-clients-mixed.log", "w"),  # noqa: SIM115 - the child owns it
        text=True,
        cwd=REPO_DIR,
    )
    words = _read_line(clients, timeout=300).split()
    if words[:1] != ["READY"] or int(words[1]) < WS_CLIENTS:
        _close(clients)
        raise RuntimeError(f"the WebSocket clients did not all connect: {' '.join(words) or 'no output'}")
    return clients


def _close(clients: subprocess.Popen[str]) -> int:
    """End the client process (DUMP); returns how many ticket.created frames its clients received in all."""
    try:
        out, _ = clients.communicate("DUMP\n", timeout=60)
    except subprocess.TimeoutExpired:
        clients.kill()
        clients.wait()
        return 0
    lines = out.strip().splitlines()
    return sum(len(times) for times in json.loads(lines[-1]).values()) if lines else 0
