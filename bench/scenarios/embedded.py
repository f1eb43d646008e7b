"""Embedded mode (one `nixflow serve`, SQLite): /api/health, POST at 32 and 1 connections, automation, open loop."""

from __future__ import annotations

from bench import profile
from bench.commits import SqliteCommitWatcher
from bench.procs import Proc
from bench.results import (
    DJANGO_C1,
    DJANGO_C1_P50,
    DJANGO_C1_P99,
    DJANGO_C32,
    DJANGO_C32_P50,
    DJANGO_C32_P99,
    NAIVE_C32,
    NAIVE_C32_P50,
    NAIVE_C32_P99,
    percentile,
)
from bench.scenarios import Ctx
from bench.target import Database, create_admin, nixflow_env, set_up_workload, start_api, ticket_body, wait_all_assigned
from bench.tools import log
from bench.wrk import run_wrk

OFFERED_RATE = 100.0  # tickets/s, open loop
OPEN_LOOP_CONNECTIONS = 16  # enough that a connection is almost never still waiting when its next slot comes


def run(ctx: Ctx) -> None:
    home = ctx.workdir / "embedded"
    home.mkdir()
    db_file = home / "nixflow.db"
    env = nixflow_env(f"sqlite+aiosqlite:///{db_file}")
    log("embedded: setting up the workload (admin by the CLI; Network and its 3 agents by the API)")
    create_admin(env)
    proc, base = start_api(env, ctx.workdir, "nixflow serve (embedded)")
    database = Database(f"sqlite:///{db_file}")
    try:
        token, category = set_up_workload(base)
        auth = f"Bearer {token}"
        tickets_url = f"{base}/api/tickets"
        with SqliteCommitWatcher(db_file) as watcher:
            run_wrk(tickets_url, connections=32, seconds=ctx.warmup, log=ctx.workdir / "wrk-warmup.txt",
                    body=ticket_body(category, "warmup"), auth=auth)  # fmt: skip
            database.wait_quiet(timeout=120)

            log(f"embedded: GET /api/health, 32 connections, {ctx.seconds:.0f} s")
            health = run_wrk(
                f"{base}/api/health", connections=32, seconds=ctx.seconds, log=ctx.workdir / "wrk-health.txt"
            )
            ctx.results.add("nf.health", "GET /api/health, c=32", "req/s", health.ok_per_s, note=health.note,
                            peer=DJANGO_C32)  # fmt: skip
            ctx.results.add("nf.health.p99", "GET /api/health, c=32, p99", "ms", health.p99_ms, peer=DJANGO_C32_P99)

            _closed_loop(ctx, proc, database, watcher, tickets_url, auth, category)
            _open_loop(ctx, database, watcher, tickets_url, auth, category)
            _profile(ctx, proc, database, tickets_url, auth, category)
            ctx.results.notes.append(
                "embedded commit times: first seen by a reader woken by inotify on the database directory "
                f"({watcher.mode}); NixFlow's `events.timestamp`/`updated_at` are taken when the unit of work "
                "begins, so no column holds a commit time on SQLite"
            )
    finally:
        ctx.peak("embedded", proc)
        proc.stop()
        database.close()


def _closed_loop(
    ctx: Ctx, proc: Proc, database: Database, watcher: SqliteCommitWatcher, url: str, auth: str, category: int
) -> None:
    """POST at 32 connections (also: fully automated tickets/s under it), then at 1 connection."""
    for conns in (32, 1):
        log(f"embedded: POST /api/tickets, {conns} connection(s), {ctx.seconds:.0f} s")
        before, seq = database.max_ticket_id(), database.max_event_seq()
        cpu_before = proc.cpu()
        result = run_wrk(url, connections=conns, seconds=ctx.seconds, log=ctx.workdir / f"wrk-post-c{conns}.txt",
                         body=ticket_body(category, f"c{conns}"), auth=auth)  # fmt: skip
        tickets = database.tickets_after(before)
        assigned = wait_all_assigned(tickets, watcher.snapshot, timeout=120)
        key, label = f"nf.post{conns}", f"POST /api/tickets, c={conns}"
        p50_peer, p99_peer = (DJANGO_C32_P50, DJANGO_C32_P99) if conns == 32 else (DJANGO_C1_P50, DJANGO_C1_P99)
        naive = (NAIVE_C32, NAIVE_C32_P50, NAIVE_C32_P99) if conns == 32 else (None, None, None)
        ctx.results.add(key, label, "req/s", result.ok_per_s, note=result.note,
                        peer=DJANGO_C32 if conns == 32 else DJANGO_C1, ceiling=True, naive=naive[0])  # fmt: skip
        ctx.results.add(f"{key}.p50", f"{label}, p50", "ms", result.p50_ms, peer=p50_peer, naive=naive[1])
        ctx.results.add(f"{key}.p99", f"{label}, p99", "ms", result.p99_ms, peer=p99_peer, naive=naive[2])
        missing = len(tickets.sent) - len(assigned)
        note = f"{len(assigned)} tickets" + (f"; {missing} not assigned within 120 s" if missing else "")
        if conns == 32 and assigned:
            span = max(assigned.values()) - tickets.first_sent
            ctx.results.add("nf.automated", "tickets fully automated (first POST → last ticket.assigned commit), c=32",
                            "tickets/s", len(assigned) / span, note=note, peer=DJANGO_C32, ceiling=True,
                            naive=NAIVE_C32)  # fmt: skip
            health = ctx.results.value("nf.health")
            if health:
                ctx.results.add("nf.ingest_share", "ingest ÷ the same server's /api/health rate", "ratio",
                                result.ok_per_s / health)  # fmt: skip
            events = database.events_after(seq)
            database.wait_quiet(timeout=120)
            cpu = proc.cpu() - cpu_before
            ctx.results.cpu.append(("embedded, c=32", proc.name, cpu, cpu * 1000 / max(events, 1)))
        latencies = [(assigned[t] - tickets.sent[t]) * 1000 for t in assigned]
        ctx.results.add(f"{key}.assigned.p99", f"POST → ticket.assigned committed, c={conns}, p99", "ms",
                        percentile(latencies, 99), note=f"p50 {percentile(latencies, 50):.1f} ms; {note}")  # fmt: skip
        database.wait_quiet(timeout=120)


def _profile(ctx: Ctx, proc: Proc, database: Database, url: str, auth: str, category: int) -> None:
    """The c=32 POST load once more, with py-spy on the server (not counted in any figure)."""
    if profile.available() is None:
        ctx.results.notes.append("no profile: py-spy is not installed (the `bench` extra installs it)")
        return
    log(f"embedded: POST /api/tickets, 32 connections, {ctx.seconds:.0f} s, profiled (py-spy; not counted)")
    with profile.profiled(proc.pid, ctx.workdir / "profile-embedded.raw") as raw:
        run_wrk(url, connections=32, seconds=ctx.seconds, log=ctx.workdir / "wrk-profiled.txt",
                body=ticket_body(category, "profiled"), auth=auth)  # fmt: skip
    database.wait_quiet(timeout=120)
    if raw.exists():
        title = "embedded `nixflow serve`, POST /api/tickets at 32 connections (automated workload)"
        ctx.results.profiles.append((title, profile.summarise(raw)))


def _open_loop(ctx: Ctx, database: Database, watcher: SqliteCommitWatcher, url: str, auth: str, category: int) -> None:
    """A fixed offered rate of 100 tickets/s: POST → ticket.assigned committed, from each ticket's intended send."""
    log(f"embedded: open loop, {OFFERED_RATE:.0f} tickets/s offered, {ctx.seconds:.0f} s")
    before = database.max_ticket_id()
    result = run_wrk(url, connections=OPEN_LOOP_CONNECTIONS, seconds=ctx.seconds, log=ctx.workdir / "wrk-open.txt",
                     body=ticket_body(category, "open"), auth=auth, rate=OFFERED_RATE)  # fmt: skip
    tickets = database.tickets_after(before)
    assigned = wait_all_assigned(tickets, watcher.snapshot, timeout=120)
    latencies = [(assigned[t] - tickets.sent[t]) * 1000 for t in assigned]
    achieved = result.ok_per_s
    note = f"achieved {achieved:.0f} req/s offered {OFFERED_RATE:.0f}; {len(assigned)} tickets"
    if len(assigned) < len(tickets.sent):
        note += f"; {len(tickets.sent) - len(assigned)} not assigned within 120 s"
    ctx.results.add("nf.open.p50", "POST → ticket.assigned committed at 100 tickets/s offered, p50", "ms",
                    percentile(latencies, 50), note=note)  # fmt: skip
    ctx.results.add("nf.open.p99", "POST → ticket.assigned committed at 100 tickets/s offered, p99", "ms",
                    percentile(latencies, 99), note=f"HTTP response p99 {result.p99_ms:.1f} ms (wrk)")  # fmt: skip
    ctx.results.series["open-loop latencies"] = [(float(i), v) for i, v in enumerate(sorted(latencies))]
    database.wait_quiet(timeout=120)
