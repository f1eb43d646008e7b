"""NixFlow under test: its processes, the automated workload, and what its database says afterwards."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from bench.procs import Proc, last_line, spawn
from bench.tools import free_port, wait_for
from nixflow.store.tables import UNFINISHED_SQL

PASSWORD = "bench-password-1"
ADMIN_EMAIL = "bench@example.com"
CATEGORY = "Network"
AGENTS = ("ana", "ben", "cleo")
# "down" fires the default rule "outage or down is critical"; the category's 3 agents get it round-robin,
# and the SLA clock starts. The send time travels in the description (see bench/lua/load.lua).
TITLE = "Core switch is down"
SENT = re.compile(r"sent_us=(\d+)")


def nixflow_cli(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "nixflow.cli", *args], env=env, capture_output=True, text=True, timeout=180
    )
    if result.returncode != 0:
        raise RuntimeError(f"nixflow {' '.join(args[:2])} failed: {result.stderr.strip()[-300:]}")
    return result.stdout.strip()


def create_admin(env: dict[str, str]) -> None:
    """The admin the runner signs in as, with `nixflow users create` (which also migrates the database)."""
    nixflow_cli("users", "create", "--email", ADMIN_EMAIL, "--name", "Bench", "--role", "admin",
                "--password", PASSWORD, env=env)  # fmt: skip


def set_up_workload(base: str) -> tuple[str, int]:
    """Sign in as the admin; create the category `Network` and its three agents through the API.

    Returns the admin's bearer token and the category's id.
    """
    login = httpx.post(f"{base}/api/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD}, timeout=30)
    login.raise_for_status()
    token = str(login.json()["token"])
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
        created = api.post("/api/categories", json={"name": CATEGORY})
        created.raise_for_status()
        category = int(created.json()["id"])
        for name in AGENTS:
            api.post(
                "/api/users",
                json={"email": f"{name}@example.com", "name": name, "role": "agent", "password": PASSWORD,
                      "category_ids": [category]},
            ).raise_for_status()  # fmt: skip
    return token, category


def ticket_body(category_id: int, run: str) -> str:
    """The wrk body template of the automated workload."""
    return json.dumps(
        {"title": TITLE, "description": f"bench {run} sent_us=%SENT_US% n=%N%", "category_id": category_id}
    )


def start_api(env: dict[str, str], workdir: Path, name: str, *, worker: bool = True) -> tuple[Proc, str]:
    """`nixflow serve` on a free port; returns the process and its base URL once /api/health answers."""
    port = free_port()
    args = ["serve", "--port", str(port)] + ([] if worker else ["--no-worker"])
    proc = spawn(name, [sys.executable, "-m", "nixflow.cli", *args], env=env, log_path=workdir / f"{name}.log")
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if not proc.alive():
            raise SystemExit
        return httpx.get(f"{base}/api/health", timeout=2).status_code == 200

    try:
        wait_for(up, timeout=90, what=f"{name} on port {port}", interval=0.2)
    except SystemExit:
        raise RuntimeError(f"{name} exited: {last_line(workdir / f'{name}.log')}") from None
    return proc, base


def start_worker(env: dict[str, str], workdir: Path, name: str) -> Proc:
    return spawn(name, [sys.executable, "-m", "nixflow.cli", "worker"], env=env, log_path=workdir / f"{name}.log")


def nixflow_env(database_url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "NIXFLOW_DATABASE_URL": database_url, "PYTHONDONTWRITEBYTECODE": "1", **extra}


@dataclass
class Tickets:
    """Tickets a run created: id -> intended send time (epoch seconds, from the description)."""

    sent: dict[int, float]

    @property
    def first_sent(self) -> float:
        return min(self.sent.values())


class Database:
    """Read-only questions to NixFlow's database (SQLite file or PostgreSQL), by a synchronous URL."""

    def __init__(self, sync_url: str) -> None:
        self.engine = create_engine(sync_url)

    def close(self) -> None:
        self.engine.dispose()

    def max_ticket_id(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text("SELECT coalesce(max(id), 0) FROM tickets")).scalar_one())

    def max_event_seq(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text("SELECT coalesce(max(seq), 0) FROM events")).scalar_one())

    def events_after(self, seq: int) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM events WHERE seq > :s"), {"s": seq}).scalar_one())

    def unfinished_events(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM events WHERE {UNFINISHED_SQL}")).scalar_one())

    def settle(self, *, quiet_s: float = 0.5, timeout: float = 30) -> None:
        """Until no new ticket has appeared for `quiet_s`: requests wrk left in flight are in the database."""
        deadline = time.monotonic() + timeout
        last, since = self.max_ticket_id(), time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - since < quiet_s:
            time.sleep(0.1)
            now = self.max_ticket_id()
            if now != last:
                last, since = now, time.monotonic()

    def tickets_after(self, ticket_id: int) -> Tickets:
        """Tickets with a higher id, once the load has settled."""
        self.settle()
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, description FROM tickets WHERE id > :id"), {"id": ticket_id}).all()
        sent = {}
        for tid, description in rows:
            found = SENT.search(description or "")
            if found:
                sent[int(tid)] = int(found.group(1)) / 1e6
        return Tickets(sent)

    def wait_quiet(self, *, timeout: float) -> None:
        """Until no event is unfinished (pending, processing, retrying): the previous load is fully handled."""
        wait_for(
            lambda: self.unfinished_events() == 0, timeout=timeout, what="the event backlog to drain", interval=0.2
        )


def wait_all_assigned(
    tickets: Tickets, commit_times: Callable[[], dict[int, float]], *, timeout: float
) -> dict[int, float]:
    """Commit time of each ticket's `ticket.assigned`, once every ticket of the run has one (or timeout)."""
    deadline = time.monotonic() + timeout
    found: dict[int, float] = {}
    while time.monotonic() < deadline:
        found = commit_times()
        if all(t in found for t in tickets.sent):
            break
        time.sleep(0.2)
    return {t: found[t] for t in tickets.sent if t in found}
