"""Scale-out on this one box: 1 API + 1 worker, 2 APIs + 2 workers, then 4 + 4 (the curve issue 29 asks for where
5x django-helpdesk cannot be reached on two cores), on the runner's own PostgreSQL + Redis.

The same wrk load as embedded (32 connections in all, split evenly over the APIs), the same workload.
Fully automated tickets/s runs from the first POST to the last `ticket.assigned` commit, read with
`pg_xact_commit_timestamp`. CPU per event: each process's CPU seconds (/proc/<pid>/stat) from the start of
the load until every event it caused is handled, over the events written meanwhile.
"""

from __future__ import annotations

from bench import profile
from bench.commits import postgres_commit_times
from bench.procs import Proc
from bench.results import DJANGO_C32, DJANGO_C32_P99, percentile
from bench.scenarios import Ctx
from bench.services import OwnPostgres, OwnRedis
from bench.target import (
    Database,
    create_admin,
    nixflow_env,
    set_up_workload,
    start_api,
    start_worker,
    ticket_body,
    wait_all_assigned,
)
from bench.tools import log
from bench.wrk import finish_wrk, start_wrk

SETUPS = ((1, 1), (2, 2), (4, 4))
CONNECTIONS = 32


def run(ctx: Ctx) -> None:
    postgres, redis = OwnPostgres(), OwnRedis(ctx.workdir)
    try:
        pg = postgres.start()
        rd = redis.start()
        for apis, workers in SETUPS:
            _setup(ctx, postgres, redis.url, [pg, rd], apis, workers)
        ctx.peak("scale-out", pg)
        ctx.peak("scale-out", rd)
    finally:
        redis.stop()
        postgres.stop()


def _setup(ctx: Ctx, postgres: OwnPostgres, redis_url: str, services: list[Proc], apis: int, workers: int) -> None:
    name = f"{apis}x{workers}"
    label = f"scale-out {apis} API{'s' if apis > 1 else ''} + {workers} worker{'s' if workers > 1 else ''}"
    log(f"{label}: setting up")
    url = postgres.create_database(f"nixflow_{name}")
    env = nixflow_env(url, NIXFLOW_REDIS_URL=redis_url, NIXFLOW_REDIS_PREFIX=f"bench-{name}")
    create_admin(env)
    procs: list[Proc] = []
    bases: list[str] = []
    database = Database(url)
    try:
        for i in range(apis):
            proc, base = start_api(env, ctx.workdir, f"nixflow serve --no-worker #{i + 1}", worker=False)
            procs.append(proc)
            bases.append(base)
        for i in range(workers):
            procs.append(start_worker(env, ctx.workdir, f"nixflow worker #{i + 1}"))
        token, category = set_up_workload(bases[0])
        auth = f"Bearer {token}"
        per_api = CONNECTIONS // apis

        def load(run: str, seconds: float) -> list[tuple[float, float, float, str]]:
            logs = [ctx.workdir / f"wrk-{name}-{run}-{i}.txt" for i in range(apis)]
            started = [
                start_wrk(f"{base}/api/tickets", connections=per_api, seconds=seconds, log=path,
                          body=ticket_body(category, f"{name}-{run}"), auth=auth)
                for base, path in zip(bases, logs, strict=True)
            ]  # fmt: skip
            results = [finish_wrk(p, path, seconds=seconds) for p, path in zip(started, logs, strict=True)]
            return [(r.ok_per_s, r.p50_ms, r.p99_ms, r.note) for r in results]

        load("warmup", ctx.warmup)
        database.wait_quiet(timeout=120)
        log(f"{label}: POST /api/tickets, {per_api} connections per API, {ctx.seconds:.0f} s")
        before, seq = database.max_ticket_id(), database.max_event_seq()
        everyone = procs + services
        cpu_before = {p.name: p.cpu() for p in everyone}
        measured = load("run", ctx.seconds)
        tickets = database.tickets_after(before)
        assigned = wait_all_assigned(tickets, lambda: postgres_commit_times(url), timeout=180)
        database.wait_quiet(timeout=180)
        events = database.events_after(seq)
        for p in everyone:
            cpu = p.cpu() - cpu_before[p.name]
            ctx.results.cpu.append((label, p.name, cpu, cpu * 1000 / max(events, 1)))

        rate = sum(m[0] for m in measured)
        p99 = max(m[2] for m in measured)
        notes = "; ".join(n for m in measured if (n := m[3]))
        per_wrk = ", ".join(f"{m[2]:.0f}" for m in measured)
        ctx.results.add(f"so.{name}.rps", f"{label}: POST /api/tickets accepted, c={CONNECTIONS}", "req/s", rate,
                        note=notes, peer=DJANGO_C32)  # fmt: skip
        ctx.results.add(f"so.{name}.p99", f"{label}: POST /api/tickets p99 (worst wrk)", "ms", p99,
                        note=f"p99 per API: {per_wrk} ms; p50 {max(m[1] for m in measured):.0f} ms",
                        peer=DJANGO_C32_P99)  # fmt: skip
        missing = len(tickets.sent) - len(assigned)
        note = f"{len(assigned)} tickets, {events:,} events" + (f"; {missing} not assigned in time" if missing else "")
        if assigned:
            span = max(assigned.values()) - tickets.first_sent
            ctx.results.add(f"so.{name}.automated", f"{label}: tickets fully automated", "tickets/s",
                            len(assigned) / span, note=note, peer=DJANGO_C32)  # fmt: skip
            latencies = [(assigned[t] - tickets.sent[t]) * 1000 for t in assigned]
            ctx.results.add(f"so.{name}.assigned.p99", f"{label}: POST → ticket.assigned committed, p99", "ms",
                            percentile(latencies, 99), note=f"p50 {percentile(latencies, 50):.0f} ms")  # fmt: skip
        if apis > 1 and profile.available() is not None:
            log(f"{label}: the same load once more, py-spy on API #1 (not counted)")
            with profile.profiled(procs[0].pid, ctx.workdir / f"profile-{name}.raw") as raw:
                load("profiled", ctx.seconds)
            database.wait_quiet(timeout=180)
            if raw.exists():
                title = f"{label}: `nixflow serve --no-worker` #1 under the same load (PostgreSQL + Redis)"
                ctx.results.profiles.append((title, profile.summarise(raw)))
    finally:
        for p in procs:
            ctx.peak(label, p)
            p.stop()
        database.close()
