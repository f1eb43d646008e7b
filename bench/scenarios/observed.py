"""The cost of metrics and JSON logs (issue 28): automated tickets/s in embedded mode with and without, same run.

Four variants: text or JSON logs (`NIXFLOW_LOG_FORMAT`), `/metrics` closed or open to loopback and scraped once a
second (Prometheus scrapes every 15 s or so: this is the harsher case). The in-process counters and histograms cannot
be switched off, so every run pays for updating them; what differs is the JSON formatting of every line and the
scrapes (whose gauges read the database). The variants alternate, twice each (once with `--quick`), on fresh
databases, so a neighbour's load on a shared machine falls on all. The scraped runs also report which metric
families moved: a counter between a scrape before the load and one after, a gauge in any scrape during it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.commits import SqliteCommitWatcher
from bench.scenarios import Ctx
from bench.target import Database, create_admin, nixflow_env, set_up_workload, start_api, ticket_body, wait_all_assigned
from bench.tools import log
from bench.wrk import run_wrk

JSON_LOGS = {"NIXFLOW_LOG_FORMAT": "json"}
OPEN_METRICS = {"NIXFLOW_METRICS_ALLOW": "127.0.0.1/32"}
SCRAPE_EVERY_S = 1.0
# name: (label, environment, scraped)
VARIANTS: dict[str, tuple[str, dict[str, str], bool]] = {
    "plain": ("text logs, /metrics not scraped", {}, False),
    "json": ("JSON logs, /metrics not scraped", JSON_LOGS, False),
    "scraped": ("text logs, /metrics scraped every 1 s", OPEN_METRICS, True),
    "both": ("JSON logs, /metrics scraped every 1 s", {**JSON_LOGS, **OPEN_METRICS}, True),
}


def run(ctx: Ctx) -> None:
    rates: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for round_ in range(1 if ctx.quick else 2):
        for name, (_, env, scraped) in VARIANTS.items():
            rates[name].append(_automated(ctx, env=env, scraped=scraped, name=f"obs-{name}-{round_}"))
    best = {name: max(found) for name, found in rates.items()}
    for name, (label, _, _) in VARIANTS.items():
        ctx.results.add(f"obs.{name}", f"tickets fully automated, c=32, {label} (best of {len(rates[name])})",
                        "tickets/s", best[name], note=", ".join(f"{r:.0f}" for r in rates[name]))  # fmt: skip
    for name in ("json", "scraped", "both"):
        ratio = best[name] / best["plain"] if best["plain"] else None
        ctx.results.add(f"obs.{name}.ratio", f"{VARIANTS[name][0]} ÷ {VARIANTS['plain'][0]}", "ratio", ratio)


def _automated(ctx: Ctx, *, env: dict[str, str], scraped: bool, name: str) -> float:
    """Tickets/s from the first POST of a c=32 wrk run to the last ticket's `ticket.assigned` commit."""
    home = ctx.workdir / name
    home.mkdir()
    db_file = home / "nixflow.db"
    server_env = nixflow_env(f"sqlite+aiosqlite:///{db_file}", **env)
    create_admin(server_env)
    proc, base = start_api(server_env, ctx.workdir, name)
    database = Database(f"sqlite:///{db_file}")
    try:
        token, category = set_up_workload(base)
        auth, url = f"Bearer {token}", f"{base}/api/tickets"
        with SqliteCommitWatcher(db_file) as watcher:
            run_wrk(url, connections=32, seconds=ctx.warmup, log=home / "wrk-warmup.txt",
                    body=ticket_body(category, "warmup"), auth=auth)  # fmt: skip
            database.wait_quiet(timeout=120)
            before_scrape = _scrape(base) if scraped else {}
            log(f"observed: {name}, POST /api/tickets, 32 connections, {ctx.seconds:.0f} s")
            before = database.max_ticket_id()
            with _scraping(base, enabled=scraped) as scrapes:
                run_wrk(url, connections=32, seconds=ctx.seconds, log=home / "wrk-post.txt",
                        body=ticket_body(category, name), auth=auth)  # fmt: skip
                tickets = database.tickets_after(before)
                assigned = wait_all_assigned(tickets, watcher.snapshot, timeout=120)
            if scraped:
                _note_moved(ctx, before_scrape, [*scrapes, _scrape(base)])
    finally:
        proc.stop()
        database.close()
    if not assigned:
        return 0.0
    return len(assigned) / (max(assigned.values()) - tickets.first_sent)


def _scrape(base: str) -> dict[str, float]:
    """Each metric family's sum of sample values (histograms: their `_count`, so a moved histogram is seen)."""
    response = httpx.get(f"{base}/metrics", timeout=10)
    response.raise_for_status()
    sums: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        counted = [s for s in family.samples if not s.name.endswith(("_bucket", "_sum", "_created"))]
        sums[family.name] = sum(s.value for s in counted)
    return sums


@contextmanager
def _scraping(base: str, *, enabled: bool) -> Iterator[list[dict[str, float]]]:
    """Scrape `/metrics` every SCRAPE_EVERY_S on a thread while the block runs (if enabled); yields the scrapes."""
    stop = threading.Event()
    scrapes: list[dict[str, float]] = []

    def loop() -> None:
        while not stop.wait(SCRAPE_EVERY_S):
            scrapes.append(_scrape(base))

    thread = threading.Thread(target=loop, daemon=True)
    if enabled:
        thread.start()
    try:
        yield scrapes
    finally:
        stop.set()
        if enabled:
            thread.join(timeout=15)


def _note_moved(ctx: Ctx, before: dict[str, float], scrapes: list[dict[str, float]]) -> None:
    """Note which families moved: a counter or histogram after the load, a gauge in any scrape during it."""
    if any(n.startswith("metrics that moved") for n in ctx.results.notes):
        return  # the first observed run says it
    names = sorted({n for scrape in scrapes for n in scrape if n.startswith("nixflow_") and not n.endswith("_created")})
    moved = [n for n in names if any(scrape.get(n) != before.get(n) for scrape in scrapes)]
    still = [n for n in names if n not in moved]
    ctx.results.notes.append(f"metrics that moved under the automated workload: {', '.join(moved)}")
    ctx.results.notes.append(f"metrics that did not move under it: {', '.join(still) or 'none'}")
