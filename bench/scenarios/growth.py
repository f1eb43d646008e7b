"""Data growth: one embedded-mode database grown to 10,000, 100,000 and 1,000,000 tickets (1,000 and 10,000 with
--quick): up to `BLOCK + TAIL` (4,000) tickets by bench/growth.py (through the real write path: the real services
and writer, in big units of work, with the periodic jobs ticking on the simulated clock), above that by
bench/replicate.py (a real-path slice copied in SQL, each size a database of its own). At each size, a real
`nixflow serve` on it, once its periodic jobs have run a whole tick that found nothing due (read from /metrics),
answers each read one request at a time (p50/p99), the automated write load (wrk, c=32) and its RSS. The table
(with how each size was grown, and how long it took) and a text chart of p99 against size go in the report."""

from __future__ import annotations

import asyncio
import os
import random
import time
from datetime import datetime, timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.growth import epoch_for, grow, moment
from bench.replicate import BLOCK, TAIL, copy_database, grow_replicated
from bench.results import percentile
from bench.scenarios import Ctx
from bench.target import create_admin, nixflow_env, set_up_workload, start_api, ticket_body
from bench.tools import log, wait_for
from bench.wrk import run_wrk

SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)
SIZES_VARIABLE = "NIXFLOW_BENCH_GROWTH_SIZES"  # e.g. "10000,100000": other sizes, for either mode


def _reads(base: str, category: int, agent: int, data_end: datetime) -> dict[str, str]:
    """Each read the issue names: the queue with several filters and sorts, a ticket and its timeline, event
    statistics, a month's report summary, the saved views with their counts."""
    month = {"since": (data_end - timedelta(days=30, hours=7, minutes=13)).isoformat(), "until": data_end.isoformat()}
    query = str(httpx.QueryParams(month))
    return {
        "queue status=new": "/api/tickets?status=new&limit=50",
        "queue status=open, by update": "/api/tickets?status=open&sort=-updated_at&limit=50",
        "queue assignee": f"/api/tickets?assignee_id={agent}&limit=50",
        "queue category+priority": f"/api/tickets?category_id={category}&priority=critical&limit=50",
        "queue status=new, by due": "/api/tickets?status=new&sort=due&limit=50",
        "ticket": "/api/tickets/{id}",
        "timeline": "/api/tickets/{id}/events",
        "event stats": "/api/events/stats",
        "event stats, a month": f"/api/events/stats?{query}",
        "report summary, a month": f"/api/reports/summary?{query}",
        "views with counts": "/api/views",
    }


def _job_ticks(base: str) -> tuple[float, float]:
    """How many ticks of the periodic jobs the server has finished, and the items they handled in all."""
    ticks = items = 0.0
    for family in text_string_to_metric_families(httpx.get(f"{base}/metrics", timeout=10).text):
        for sample in family.samples:
            if sample.name == "nixflow_periodic_job_duration_seconds_count":
                ticks = max(ticks, sample.value)
            elif sample.name == "nixflow_periodic_job_items_total":
                items += sample.value
    return ticks, items


def wait_idle(base: str) -> None:
    """Wait until the server's periodic jobs have finished a whole tick that found nothing to do, so no
    catch-up runs under the measurements (a grown database whose jobs never ran would keep it busy)."""
    seen = _job_ticks(base)

    def idle() -> bool:
        nonlocal seen
        before, seen = seen, _job_ticks(base)
        return seen[0] > before[0] >= 1 and seen[1] == before[1]

    wait_for(idle, timeout=600, what="the server's periodic jobs to find nothing due", interval=0.5)


def _measure(base: str, headers: dict[str, str], paths: dict[str, str], count: int, n: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {name: [] for name in paths}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for _ in range(n + 2):  # the first two rounds warm up and are dropped
            for name, path in paths.items():
                url = path.replace("{id}", str(random.randint(1, count)))
                start = time.perf_counter()
                client.get(url).raise_for_status()
                timings[name].append((time.perf_counter() - start) * 1000)
    return {name: samples[2:] for name, samples in timings.items()}


def run(ctx: Ctx) -> None:
    asked = os.environ.get(SIZES_VARIABLE)
    sizes = tuple(int(n) for n in asked.split(",")) if asked else QUICK_SIZES if ctx.quick else SIZES
    home = ctx.workdir / "growth"
    home.mkdir()
    url = f"sqlite+aiosqlite:///{home / 'nixflow.db'}"
    env = nixflow_env(url, NIXFLOW_METRICS_ALLOW="127.0.0.1/32")
    create_admin(env)
    proc, base = start_api(env, ctx.workdir, "nixflow serve (growth setup)")
    token, category = set_up_workload(base)
    headers = {"Authorization": f"Bearer {token}"}
    agent = next(u["id"] for u in httpx.get(f"{base}/api/users", headers=headers).json() if u["name"] == "ana")
    for filters in ({"statuses": ["new", "open", "pending"]}, {"q": "printer", "status": "new"}):
        httpx.post(f"{base}/api/views", json={"name": str(filters), "filters": filters}, headers=headers)
    proc.stop()
    copy_database(home / "nixflow.db", home / "base.db")  # the helpdesk before any ticket: what slices grow from
    start, rows, grown = epoch_for(max(sizes)), [], []
    for size in sizes:
        t0 = time.monotonic()
        path = home / f"nixflow-{size}.db" if replicated(size) else home / "nixflow.db"
        if replicated(size):
            have = asyncio.run(grow_replicated(home / "base.db", path, start=start, to=size))
        else:
            have = asyncio.run(grow(url, start=start, to=size))
        how = (f"{'replicated' if replicated(size) else 'real path'}, {time.monotonic() - t0:.0f} s, "
               f"{path.stat().st_size / 2**20:,.0f} MiB")  # fmt: skip
        log(f"growth: {have:,} tickets ({how})")
        served = {**env, "NIXFLOW_DATABASE_URL": f"sqlite+aiosqlite:///{path}"}
        proc, base = start_api(served, ctx.workdir, f"nixflow serve (growth {size})")
        try:
            wait_idle(base)
            timings = _measure(
                base, headers, _reads(base, category, agent, moment(start, size)), have, 50 if ctx.quick else 200
            )
            write = run_wrk(f"{base}/api/tickets", connections=32, seconds=ctx.seconds,
                            log=ctx.workdir / f"wrk-growth-{size}.txt", body=ticket_body(category, f"growth{size}"),
                            auth=f"Bearer {token}")  # fmt: skip
            rss = proc.rss_kib() / 1024
        finally:
            proc.stop()
            if replicated(size):  # each its own file (30 GB at a million tickets): free the disk for the next
                for left in home.glob(f"nixflow-{size}.db*"):
                    left.unlink()
        rows.append((size, have, timings, write.ok_per_s, rss))
        grown.append(how)
        _add(ctx, size, timings, write.ok_per_s, rss, f"{write.note}; grown by {how}")
    table = [*_table(rows), "| grown by (time to grow, file size) | " + " | ".join(grown) + " | |"]
    ctx.results.sections.append(("Data growth (cost against size)", [*table, "", *_chart(rows)]))


def replicated(size: int) -> bool:
    """Sizes above a real-path slice whose form allows it (the tail and whole blocks) are replicated."""
    return size > BLOCK + TAIL and (size - TAIL) % BLOCK == 0


def _add(ctx: Ctx, size: int, timings: dict[str, list[float]], rate: float, rss: float, note: str) -> None:
    for name, samples in timings.items():
        key = f"nf.growth.{size}.{name}"
        ctx.results.add(f"{key}.p99", f"{name} at {size:,} tickets, p99", "ms", percentile(samples, 99),
                        note=f"p50 {percentile(samples, 50):.1f} ms, n={len(samples)}", group="growth")  # fmt: skip
    ctx.results.add(f"nf.growth.{size}.write", f"automated POST at {size:,} tickets, c=32", "req/s", rate,
                    note=f"server RSS {rss:.0f} MiB after the reads and writes; {note}", group="growth")  # fmt: skip


def _table(rows: list[tuple[int, int, dict[str, list[float]], float, float]]) -> list[str]:
    sizes = [f"{have:,}" for _, have, _, _, _ in rows]
    lines = ["| read (p50 / p99 ms) | " + " | ".join(sizes) + " | last ÷ first p99 |",
             "|---|" + "---:|" * (len(rows) + 1)]  # fmt: skip
    for name in rows[0][2]:
        cells = [f"{percentile(t[name], 50):.1f} / {percentile(t[name], 99):.1f}" for _, _, t, _, _ in rows]
        ratio = percentile(rows[-1][2][name], 99) / percentile(rows[0][2][name], 99)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {ratio:.2f}x |")
    lines.append("| automated POST, c=32 (req/s) | " + " | ".join(f"{r[3]:.0f}" for r in rows)
                 + f" | {rows[-1][3] / max(rows[0][3], 1e-9):.2f}x |")  # fmt: skip
    lines.append("| server RSS (MiB) | " + " | ".join(f"{r[4]:.0f}" for r in rows) + " | |")
    return lines


def _chart(rows: list[tuple[int, int, dict[str, list[float]], float, float]]) -> list[str]:
    """p99 against size as text bars (one `#` per 2 ms, at most 60)."""
    lines = ["```"]
    for name in rows[0][2]:
        for _, have, timings, _, _ in rows:
            p99 = percentile(timings[name], 99)
            lines.append(f"{name[:28]:<28} {have:>10,} {'#' * min(60, max(1, round(p99 / 2)))} {p99:.1f} ms")
        lines.append("")
    return [*lines, "```"]
