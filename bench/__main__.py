"""`python -m bench`: every issue-10 scenario in one sitting, beside django-helpdesk, into bench/results/.

python -m bench                 full run (~10 s per measurement, 1 run each)
python -m bench --quick         short check run (3 s measurements, smaller sizes)
python -m bench --only embedded,tick
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench.report import environment, write_report
from bench.results import Results, markdown_table, targets_table
from bench.scenarios import Ctx, bulk, embedded, growth, mixed, observed, peers, scaleout, tick, websocket
from bench.tools import BENCH_DIR, REPO_DIR, ensure_commands, log

SCENARIOS: dict[str, Callable[[Ctx], None]] = {
    "django": peers.run_django,
    "naive": peers.run_naive,
    "ceiling": peers.run_sqlite_ceiling,
    "embedded": embedded.run,
    "tick": tick.run,
    "websocket": websocket.run,
    "scaleout": scaleout.run,
    "bulk": bulk.run,
    "growth": growth.run,
    "observed": observed.run,
    "mixed": mixed.run,
}

WORKLOAD = """\
Every NixFlow ticket is `POST /api/tickets` `{"title": "Core switch is down", "description": "bench … sent_us=…",
"category_id": <Network>}` with an admin's bearer token (the admin made by `nixflow users create`; the category
*Network* and its 3 agents by `POST /api/categories` and `POST /api/users`). The default rule "outage or down is
critical" makes each ticket critical, "round-robin within the category" assigns it and its SLA clock starts: about
six events per ticket. The load generator is `wrk -t1` with `bench/lua/load.lua`: closed loop at 32 or 1
connections, or open loop at a fixed 100 tickets/s for the latency scenario. django-helpdesk 2.6 (from PyPI, in its
own cached venv) answers the same wrk load on its DRF ticket-create API: gunicorn with 1 sync worker, SQLite WAL,
DRF token auth. The naive FastAPI app (bench/peers/naive_fastapi.py: SQLAlchemy async ORM + aiosqlite, one ticket row
and one event row per POST, nothing automated) answers the same body, Lua and connections under uvicorn in NixFlow's
interpreter. Ratios are NixFlow ÷ the peer (for latencies, below 1 is better)."""


def _raise_open_files() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _ensure_matplotlib() -> None:
    if importlib.util.find_spec("matplotlib") is not None:
        return
    log("installing the `bench` extra (matplotlib) into this environment")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", f"{REPO_DIR}[bench]"], check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="short measurements and smaller sizes, for a check")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(SCENARIOS)}")
    parser.add_argument("--seconds", type=float, default=None, help="override each measurement's duration")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results", help="where the report goes")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work dir (logs, wrk outputs)")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()] or list(SCENARIOS)
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")

    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    _raise_open_files()
    ensure_commands({"wrk": "wrk", "redis-server": "redis-server"})
    _ensure_matplotlib()
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    mode = "quick" if args.quick else "full"
    workdir = Path(tempfile.mkdtemp(prefix="nixflow-bench-"))
    results = Results()
    ctx = Ctx(quick=args.quick, seconds=seconds, warmup=1.0 if args.quick else 2.0, workdir=workdir, results=results)
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    try:
        for name in chosen:
            log(f"== {name}")
            t0 = time.monotonic()
            try:
                SCENARIOS[name](ctx)
            except Exception as exc:
                results.failures[name] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
                log(f"{name} FAILED:\n{traceback.format_exc()}")
            log(f"{name} took {time.monotonic() - t0:.0f} s")
    finally:
        if args.keep:
            log(f"work dir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - started
    results.notes.append(f"scenarios: {', '.join(chosen)}; the whole run took {elapsed / 60:.1f} min")
    stem = f"{mode}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
    path = write_report(results, args.out, stem, environment(mode, seconds, load_before), WORKLOAD)
    print(markdown_table(results))
    print()
    print(targets_table(results))
    print()
    print(path)
    return 1 if results.failures else 0


if __name__ == "__main__":
    sys.exit(main())
