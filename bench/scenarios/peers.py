"""The peers measured in the same run: django-helpdesk's ticket-create API, the naive FastAPI app, raw sqlite3."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.procs import last_line, spawn
from bench.results import (
    CEILING,
    DJANGO_C1,
    DJANGO_C1_P50,
    DJANGO_C1_P99,
    DJANGO_C32,
    DJANGO_C32_P50,
    DJANGO_C32_P99,
    NAIVE_C32,
    NAIVE_C32_P50,
    NAIVE_C32_P99,
)
from bench.scenarios import Ctx
from bench.target import ticket_body
from bench.tools import BENCH_DIR, cached_venv, free_port, log, wait_for
from bench.wrk import run_wrk

DJANGO_DIR = BENCH_DIR / "peers" / "django_helpdesk"
NAIVE_APP = BENCH_DIR / "peers" / "naive_fastapi.py"
NAIVE_TOKEN = "naive-bench-token"
REQUIREMENTS = BENCH_DIR / "peers" / "requirements-django.txt"
BODY_TEXT = "My printer is on fire, please help. " * 3


@dataclass(frozen=True)
class Django:
    """A running django-helpdesk: its base URL, the admin's DRF token, the queue, and the bootstrap's venv/env."""

    base: str
    token: str
    queue: int
    venv: Path
    env: dict[str, str]

    @property
    def auth(self) -> str:
        return f"Token {self.token}"

    def create_body(self) -> str:
        """The body of its ticket-create API in every django-helpdesk measurement."""
        return json.dumps(
            {"queue": self.queue, "title": "Printer on fire", "description": BODY_TEXT,
             "submitter_email": "user@example.com", "priority": 3}
        )  # fmt: skip

    def bootstrap(self, *args: str) -> str:
        return _bootstrap(self.venv, self.env, *args)


def _bootstrap(venv: Path, env: dict[str, str], *args: str) -> str:
    boot = subprocess.run([str(venv / "bin" / "python"), str(DJANGO_DIR / "bootstrap.py"), *args],
                          env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    if boot.returncode != 0:
        raise RuntimeError(f"django-helpdesk bootstrap {' '.join(args)} failed: {boot.stderr.strip()[-300:]}")
    return boot.stdout


@contextmanager
def django_server(ctx: Ctx, name: str, *, seed: int = 0) -> Iterator[Django]:
    """django-helpdesk 2.6 (PyPI) under gunicorn, 1 sync worker, SQLite WAL (`name`.sqlite3), DRF token auth;
    `seed` tickets bulk-inserted first."""
    venv = cached_venv(REQUIREMENTS)
    env = {**os.environ, "PEERS_DJ_DB": str(ctx.workdir / f"{name}.sqlite3"), "PYTHONDONTWRITEBYTECODE": "1"}
    token, queue = _bootstrap(venv, env).split()[-2:]
    if seed:
        _bootstrap(venv, env, "seed", str(seed))
    port = free_port()
    gunicorn = spawn(
        f"django-helpdesk gunicorn ({name})",
        [str(venv / "bin" / "gunicorn"), "wsgi:application", "--chdir", str(DJANGO_DIR), "-b", f"127.0.0.1:{port}",
         "-w", "1", "--backlog", "2048", "--graceful-timeout", "5", "--log-level", "warning"],
        env={**env, "DJANGO_SETTINGS_MODULE": "settings"},
        log_path=ctx.workdir / f"gunicorn-{name}.log",
    )  # fmt: skip
    gunicorn.tree = True  # the master and its one worker
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(f"{base}/ping", timeout=2).status_code == 200, timeout=60, what="gunicorn")
        yield Django(base, token, int(queue), venv, env)
    except Exception as exc:
        raise RuntimeError(f"{exc} (gunicorn: {last_line(ctx.workdir / f'gunicorn-{name}.log')})") from exc
    finally:
        ctx.peak(f"django-helpdesk ({name})", gunicorn)
        gunicorn.stop()


def run_django(ctx: Ctx) -> None:
    """django-helpdesk's ticket-create API: c=32 and c=1."""
    with django_server(ctx, "helpdesk") as django:
        base, url, body, auth = django.base, f"{django.base}/helpdesk/api/tickets/", django.create_body(), django.auth
        run_wrk(
            url, connections=32, seconds=ctx.warmup, log=ctx.workdir / "wrk-django-warmup.txt", body=body, auth=auth
        )
        _settle(f"{base}/ping")
        for conns, rps_key, p50_key, p99_key in (
            (32, DJANGO_C32, DJANGO_C32_P50, DJANGO_C32_P99),
            (1, DJANGO_C1, DJANGO_C1_P50, DJANGO_C1_P99),
        ):
            log(f"django-helpdesk POST, {conns} connection(s), {ctx.seconds:.0f} s")
            result = run_wrk(
                url, connections=conns, seconds=ctx.seconds, log=ctx.workdir / f"wrk-django-c{conns}.txt",
                body=body, auth=auth,
            )  # fmt: skip
            label = f"django-helpdesk POST /helpdesk/api/tickets/, c={conns}"
            ctx.results.add(rps_key, label, "req/s", result.ok_per_s, note=result.note, group="peer")
            ctx.results.add(p50_key, f"{label}, p50", "ms", result.p50_ms, group="peer")
            ctx.results.add(p99_key, f"{label}, p99", "ms", result.p99_ms, group="peer")
            _settle(f"{base}/ping")
        counts = django.bootstrap("counts").split()
        if len(counts) == 2:
            ctx.results.notes.append(
                f"django-helpdesk row check: {counts[0]} tickets, {counts[1]} follow-ups (one of each per create)"
            )


def run_naive(ctx: Ctx) -> None:
    """The naive FastAPI app (bench/peers/naive_fastapi.py): the automated workload's POST at 32 connections."""
    port = free_port()
    server = spawn(
        "naive FastAPI uvicorn",
        [sys.executable, str(NAIVE_APP), str(ctx.workdir / "naive.sqlite3"), str(port), NAIVE_TOKEN],
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        log_path=ctx.workdir / "naive.log",
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(f"{base}/api/health", timeout=2).status_code == 200, timeout=60, what="naive app")
        url, auth = f"{base}/api/tickets", f"Bearer {NAIVE_TOKEN}"
        run_wrk(url, connections=32, seconds=ctx.warmup, log=ctx.workdir / "wrk-naive-warmup.txt",
                body=ticket_body(1, "warmup"), auth=auth)  # fmt: skip
        _settle(f"{base}/api/health")
        log(f"naive FastAPI POST /api/tickets, 32 connections, {ctx.seconds:.0f} s")
        result = run_wrk(url, connections=32, seconds=ctx.seconds, log=ctx.workdir / "wrk-naive-c32.txt",
                         body=ticket_body(1, "c32"), auth=auth)  # fmt: skip
        label = "naive FastAPI POST /api/tickets (ticket + event row, nothing else), c=32"
        ctx.results.add(NAIVE_C32, label, "req/s", result.ok_per_s, note=result.note, group="peer")
        ctx.results.add(NAIVE_C32_P50, f"{label}, p50", "ms", result.p50_ms, group="peer")
        ctx.results.add(NAIVE_C32_P99, f"{label}, p99", "ms", result.p99_ms, group="peer")
    except Exception as exc:
        raise RuntimeError(f"{exc} (naive app: {last_line(ctx.workdir / 'naive.log')})") from exc
    finally:
        ctx.peak("naive FastAPI", server)
        server.stop()


def _settle(url: str) -> None:
    """Let the server finish what the last wrk run left queued."""
    time.sleep(0.5)
    httpx.get(url, timeout=60)


def run_sqlite_ceiling(ctx: Ctx) -> None:
    """Raw sqlite3: a ticket row and an event row per transaction (BEGIN IMMEDIATE), WAL, synchronous=NORMAL."""
    path = ctx.workdir / "ceiling.sqlite3"
    log(f"raw sqlite3 ceiling, {ctx.seconds:.0f} s")
    rate = sqlite_loop(path, ctx.seconds)
    ctx.results.add(
        CEILING, "raw sqlite3, ticket + event row per transaction (one Python loop)", "txn/s", rate, group="peer"
    )


def sqlite_loop(path: Path, seconds: float) -> float:
    """Units of work per second, for `seconds`."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute(
        "CREATE TABLE tickets (id INTEGER PRIMARY KEY, subject TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT"
        " NULL, priority TEXT, assignee_id INTEGER, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)"
    )
    con.execute(
        "CREATE TABLE event_log (id INTEGER PRIMARY KEY, aggregate_id INTEGER NOT NULL, type TEXT NOT NULL,"
        " payload TEXT NOT NULL, created_at TEXT NOT NULL, published_at TEXT)"
    )
    con.execute("CREATE INDEX ix_event_unpub ON event_log(published_at, id)")
    cur = con.cursor()
    body = "My printer is on fire, please help. " * 8
    n = 0
    start = time.perf_counter()
    end = start + seconds
    while time.perf_counter() < end:
        ts = datetime.now(UTC).isoformat()
        cur.execute("BEGIN IMMEDIATE")
        cur.execute(
            "INSERT INTO tickets(subject,body,status,priority,created_at,updated_at) VALUES (?,?,?,?,?,?)",
            (f"ticket {n}", body, "new", None, ts, ts),
        )
        tid = cur.lastrowid
        cur.execute(
            "INSERT INTO event_log(aggregate_id,type,payload,created_at) VALUES (?,?,?,?)",
            (tid, "ticket.created", json.dumps({"ticket_id": tid, "subject": f"ticket {n}"}), ts),
        )
        cur.execute("COMMIT")
        n += 1
    elapsed = time.perf_counter() - start
    con.close()
    return n / elapsed
