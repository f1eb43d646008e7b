"""The Markdown report and its charts (matplotlib PNG) under bench/results/."""

from __future__ import annotations

import math
import os
import platform
import sqlite3
import subprocess
from pathlib import Path

from bench import profile
from bench.results import (
    DJANGO_C1,
    DJANGO_C32,
    DJANGO_C32_P50,
    DJANGO_C32_P99,
    NAIVE_C32,
    NAIVE_C32_P50,
    NAIVE_C32_P99,
    Results,
    markdown_table,
    peer_table,
    targets_table,
)
from bench.tools import log


def _version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def environment(mode: str, seconds: float, load_before: float) -> list[str]:
    cores = os.cpu_count() or 0
    quick = (
        " (10,000 and 100,000 open tickets, 200 and 1,000 WebSocket clients: the 1,000,000-ticket and"
        " 5,000-client targets show as not measured)"
        if mode == "quick"
        else ""
    )
    wrk = " ".join(_version(["wrk", "-v"]).split()[:2])
    redis = " ".join(_version(["redis-server", "--version"]).split()[:3])
    return [
        f"mode: {mode}{quick}; each measurement {seconds:.0f} s, 1 run (no repetitions: read single figures with care)",
        f"{cores} CPUs shared by the load generator (wrk -t1), the servers and the runner, on 127.0.0.1; "
        f"1-minute load average {load_before:.1f} before the run and {os.getloadavg()[0]:.1f} after "
        "(above the core count, other work was competing for the CPUs)",
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}; "
        f"SQLite {sqlite3.sqlite_version}; {wrk}; {redis}",
    ]


def _values(results: Results, keys: list[str]) -> list[float]:
    return [v if (v := results.value(k)) is not None and not math.isnan(v) else 0.0 for k in keys]


def charts(results: Results, out_dir: Path, stem: str) -> list[tuple[str, str]]:
    """PNG charts; returns (title, file name) pairs. Skipped, with a note, if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        results.notes.append("charts skipped: matplotlib is not installed (pip install -e '.[bench]')")
        return []
    made: list[tuple[str, str]] = []

    def save(fig: object, name: str, title: str) -> None:
        path = out_dir / f"{stem}-{name}.png"
        fig.tight_layout()  # type: ignore[attr-defined]
        fig.savefig(path, dpi=110)  # type: ignore[attr-defined]
        plt.close(fig)  # type: ignore[arg-type]
        made.append((title, path.name))

    rates = [
        ("django-helpdesk create, c=32", DJANGO_C32),
        ("django-helpdesk create, c=1", DJANGO_C1),
        ("naive FastAPI create, c=32", NAIVE_C32),
        ("NixFlow GET /api/health, c=32", "nf.health"),
        ("NixFlow POST /api/tickets, c=32", "nf.post32"),
        ("NixFlow automated, c=32", "nf.automated"),
        ("NixFlow POST /api/tickets, c=1", "nf.post1"),
        ("scale-out 1+1 automated", "so.1x1.automated"),
        ("scale-out 2+2 automated", "so.2x2.automated"),
        ("scale-out 4+4 automated", "so.4x4.automated"),
    ]
    rates = [(label, key) for label, key in rates if key in results.figures]
    if rates:
        fig, ax = plt.subplots(figsize=(8, 0.45 * len(rates) + 1.2))
        values = _values(results, [k for _, k in rates])
        colors = ["#999999" if "django" in label or "naive" in label else "#2a6fdb" for label, _ in rates]
        ax.barh([label for label, _ in rates], values, color=colors)
        for y, v in enumerate(values):
            ax.text(v, y, f" {v:,.0f}", va="center", fontsize=8)
        django = results.value(DJANGO_C32)
        if django:
            ax.axvline(10 * django, color="#cc3333", linestyle="--", linewidth=1, label="10 x django-helpdesk (target)")
            ax.legend(loc="lower right", fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("per second")
        ax.set_title("Throughput (grey: peer)")
        save(fig, "throughput", "Throughput, NixFlow beside django-helpdesk")

    lat = [
        ("django-helpdesk create, c=32", DJANGO_C32_P50, DJANGO_C32_P99),
        ("naive FastAPI create, c=32", NAIVE_C32_P50, NAIVE_C32_P99),
        ("NixFlow POST, c=32", "nf.post32.p50", "nf.post32.p99"),
        ("NixFlow POST, c=1", "nf.post1.p50", "nf.post1.p99"),
        ("POST → assigned @100/s", "nf.open.p50", "nf.open.p99"),
    ]
    lat = [row for row in lat if row[2] in results.figures]
    if lat:
        fig, ax = plt.subplots(figsize=(8, 3.2))
        ys = range(len(lat))
        p50 = _values(results, [r[1] for r in lat])
        p99 = _values(results, [r[2] for r in lat])
        ax.barh([y + 0.2 for y in ys], p50, height=0.4, label="p50", color="#8fb3ef")
        ax.barh([y - 0.2 for y in ys], p99, height=0.4, label="p99", color="#2a6fdb")
        ax.set_yticks(list(ys), [r[0] for r in lat])
        ax.set_xscale("log")
        ax.set_xlabel("ms (log scale)")
        ax.legend()
        ax.set_title("Latency")
        save(fig, "latency", "Latency, p50 and p99")

    ticks = results.series.get("tick 100 due"), results.series.get("tick 1000 due")
    if any(ticks):
        fig, ax = plt.subplots(figsize=(6, 3.2))
        for points, label in zip(ticks, ("100 due", "1,000 due"), strict=True):
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
        ax.set_xscale("log")
        ax.set_xlabel("open tickets")
        ax.set_ylabel("ms per tick")
        ax.axhline(150, color="#cc3333", linestyle="--", linewidth=1, label="target (1,000 due)")
        ax.legend()
        ax.set_title("One SLA/escalation tick")
        save(fig, "tick", "One SLA/escalation tick against the open-ticket count")

    ws = results.series.get("ws p50"), results.series.get("ws p99")
    if any(ws):
        fig, ax = plt.subplots(figsize=(6, 3.2))
        for points, label in zip(ws, ("p50", "p99"), strict=True):
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
        ax.axhline(250, color="#cc3333", linestyle="--", linewidth=1, label="target p99")
        ax.set_xlabel("connected WebSocket clients")
        ax.set_ylabel("ms, POST → event received")
        ax.legend()
        ax.set_title("WebSocket fan-out")
        save(fig, "websocket", "WebSocket fan-out")

    if results.peaks:
        fig, ax = plt.subplots(figsize=(8, 0.35 * len(results.peaks) + 1.2))
        labels = [f"{proc} ({scenario})" for scenario, proc, _ in results.peaks]
        ax.barh(labels, [mib for _, _, mib in results.peaks], color="#6a9f58")
        ax.invert_yaxis()
        ax.set_xlabel("peak RSS, MiB (VmHWM)")
        ax.set_title("Peak memory of every process")
        save(fig, "memory", "Peak RSS of every process")
    return made


METHOD = """\
- **req/s, p50, p99**: wrk's own figures (successful responses only; latency from each request's send).
- **fully automated tickets/s**: tickets created by the run ÷ (last `ticket.assigned` *commit* - first intended send).
  Send times travel in each ticket's description (wrk's Lua writes its clock there). Commit times: on PostgreSQL
  `pg_xact_commit_timestamp(xmin)` of the event row (`track_commit_timestamp = on` on the runner's own server),
  exact. On SQLite no column holds one (`events.timestamp` and `updated_at` are read from the clock when the unit of
  work *begins*, and with group commit the batch commits later), so a reader thread in the runner, woken by inotify
  on every write to the database's directory, stamps each `ticket.assigned` row when it first sees it: an upper
  bound, late by a wake-up and one indexed query (sub-millisecond on an idle core, a few ms on saturated ones).
  The tickets counted include those of requests still in flight when wrk stopped (the runner waits for them to land),
  which wrk's req/s leaves out: with short runs and long latencies the automated rate can exceed the POST rate.
- **POST → ticket.assigned at 100 tickets/s offered**: open loop. wrk2 is not in Debian, so `load.lua` schedules
  request *k* at start + *k*/100 s (`delay()`), over 16 connections, and stamps the *intended* send time into the
  ticket; a late server delays the next send but the latency still counts from the schedule, so queueing is charged
  in full (no coordinated omission). The achieved rate is in the note: below 100/s means the server fell behind.
- **SLA/escalation tick**: the real `sla-and-escalation` job in the runner's process on a SQLite file holding that
  many open tickets (bulk-inserted with sqlite3 `executemany`, cached per schema), after a warm-up tick.
- **WebSocket**: clients (Python, websockets' Sans-I/O protocol under asyncio on uvloop, two processes, same cores)
  all connected with one admin token; 5 tickets are POSTed one after another, each once every client has the
  previous one (at most 30 s later); each sample is one client receiving one `ticket.created` (stamped when its
  bytes are read and parsed), timed from the POST's send. Memory per connection:
  server RSS with all connected minus RSS before, ÷ clients.
- **CPU per event**: utime + stime from /proc/<pid>/stat (PostgreSQL: postmaster, its live backends and the ones it
  reaped) from the start of the load until every event is handled, ÷ events written meanwhile.
- **Peak RSS**: VmHWM from /proc/<pid>/status just before each process is stopped.
- **naive FastAPI app** (`bench/peers/naive_fastapi.py`): a ticket row and one event row per POST, nothing automated,
  under uvicorn in NixFlow's interpreter with `nixflow serve`'s settings; same body, `load.lua` and connections.
- **mixed** (a helpdesk's day): wrk with `bench/lua/mixed.lua`, one thread per connection, so each connection's
  request() and response() alternate and the time between them (CLOCK_MONOTONIC, in the script) is that request's
  latency, kept per operation (successful answers only; 4xx/5xx counted apart by status). Each connection sends the
  same exact mix in its own shuffled order. "Reads p99" pools every read operation's samples.
"""


def write_report(results: Results, out_dir: Path, stem: str, env_lines: list[str], workload: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    made = charts(results, out_dir, stem)
    lines = [f"# NixFlow benchmark ({stem})", "", "## Workload", "", workload, "", "## Figures", ""]
    lines += [markdown_table(results), "", "## Peers (same run)", "", peer_table(results), ""]
    lines += ["## Targets (issue 29)", "", targets_table(results), ""]
    lines += ["## How each figure is measured", "", METHOD]
    if results.cpu:
        lines += ["## CPU cost per event", "", "| setup | process | CPU s during the load | CPU ms per event |",
                  "|---|---|---:|---:|"]  # fmt: skip
        lines += [f"| {s} | {p} | {cpu:.2f} | {per:.3f} |" for s, p, cpu, per in results.cpu]
        lines.append("")
    if results.profiles:
        lines += ["## Where the time goes (py-spy, in runs of their own after the measured ones)", ""]
        for title, summary in results.profiles:
            lines += profile.markdown(title, summary)
    for title, section in results.sections:
        lines += [f"## {title}", "", *section, ""]
    if results.peaks:
        lines += ["## Peak RSS (VmHWM) of every process", "", "| scenario | process | MiB |", "|---|---|---:|"]
        lines += [f"| {s} | {p} | {mib:,.0f} |" for s, p, mib in results.peaks]
        lines.append("")
    if results.failures:
        lines += ["## Failed scenarios", ""] + [f"- {name}: {why}" for name, why in results.failures.items()] + [""]
    lines += ["## Notes", ""] + [f"- {n}" for n in env_lines + results.notes] + [""]
    if made:
        lines += ["## Charts", ""] + [f"![{title}]({name})" for title, name in made] + [""]
    path = out_dir / f"{stem}.md"
    path.write_text("\n".join(lines))
    log(f"report written: {path}")
    return path
