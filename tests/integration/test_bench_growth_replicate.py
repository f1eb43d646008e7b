"""The data-growth benchmark's replication (bench/replicate.py) writes what the real write path writes: a
database grown to two blocks and the tail by replication holds what the real growth to the same size holds
(rows per table, ticket distributions, the read models' figures), its ids are unique and its log in order, and
a real `nixflow serve` on it reads and takes the automated POST. Embedded mode only, as the scenario."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from bench.growth import grow, moment
from bench.replicate import TAIL, copy_database, grow_replicated
from bench.target import create_admin, nixflow_env, set_up_workload, start_api, ticket_body
from bench.tools import wait_for
from sqlalchemy import create_engine

from nixflow.reports.rebuild import rebuild

BLOCK = 600  # whole units of work, and whole rounds of the round-robin over the three agents
SIZE = 2 * BLOCK + TAIL
FTS_SEGMENTS = {"ticket_search_data", "ticket_search_idx"}  # the index's own b-tree: its shape depends on the writes


def _url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(sql).fetchall()
    conn.close()
    return rows


def _counts(path: Path) -> dict[str, int]:
    tables = [name for (name,) in _rows(path, "SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {name: _rows(path, f'SELECT count(*) FROM "{name}"')[0][0] for name in tables if name not in FTS_SEGMENTS}  # type: ignore[misc]


FIGURES = {
    "tickets": "SELECT status, priority, assignee_id, escalation_level, count(*) FROM tickets GROUP BY 1, 2, 3, 4",
    "ticket counts": "SELECT status, priority, category_id, assignee_id, sum(n) FROM ticket_counts GROUP BY 1, 2, 3, 4",
    "report days": "SELECT * FROM report_days ORDER BY 1, 2, 3, 4",
    # Hours before the final ticks at the real now, whose moment differs between two growths.
    "event counts": "SELECT hour, event_type, status, priority, sum(n) FROM event_counts "
    "WHERE hour < CAST(strftime('%s', 'now', '-1 hour') AS INTEGER) / 3600 GROUP BY 1, 2, 3, 4",
    "search": "SELECT ticket_id, title, requester FROM ticket_search WHERE ticket_search MATCH 'printer' ORDER BY 1",
    "notifications": "SELECT ticket_id, kind, title, body FROM notifications WHERE created_at < datetime('now', "
    "'-1 hour') ORDER BY 1, 2, 3, 4",
    "round robin": "SELECT key, value FROM round_robin_counters",
}


def _helpdesk(home: Path) -> tuple[Path, dict[str, str], str, int]:
    """What the scenario sets up before growing, through a real server: the admin, Network and its agents."""
    base = home / "base.db"
    env = nixflow_env(_url(base))
    create_admin(env)
    proc, url = start_api(env, home, "nixflow serve (setup)")
    try:
        token, category = set_up_workload(url)
    finally:
        proc.stop()
    return base, env, token, category


def test_replication_writes_what_the_real_growth_writes(tmp_path: Path) -> None:
    base, env, token, category = _helpdesk(tmp_path)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=SIZE / 1000 + 1)
    real, replicated = tmp_path / "real.db", tmp_path / "replicated.db"
    copy_database(base, real)
    assert asyncio.run(grow(_url(real), start=start, to=SIZE)) == SIZE
    assert asyncio.run(grow_replicated(base, replicated, start=start, to=SIZE, block=BLOCK)) == SIZE

    assert _counts(replicated) == _counts(real)
    for name, sql in FIGURES.items():
        assert _rows(replicated, sql) == _rows(real, sql), name

    ids = "SELECT count(*), count(DISTINCT event_id), count(DISTINCT dedup_key) FROM events"
    assert len(set(_rows(replicated, ids)[0])) == 1
    # The log's order is time's, as the real path writes it (until the final ticks at the real now).
    disorder = (
        "SELECT count(*) FROM (SELECT timestamp, lag(timestamp) OVER (ORDER BY seq) AS before FROM events "
        "WHERE timestamp < datetime('now', '-1 hour')) WHERE timestamp < before"
    )
    assert _rows(real, disorder) == [(0,)]
    assert _rows(replicated, disorder) == [(0,)]
    receipts = "SELECT count(*) FROM handler_receipts r LEFT JOIN events e USING (event_id) WHERE e.seq IS NULL"
    assert _rows(replicated, receipts) == [(0,)]
    # The rebuilt per-day aggregates are what the report projection would make replaying the whole log.
    days = _rows(replicated, FIGURES["report days"])
    engine = create_engine(f"sqlite:///{replicated}")
    with engine.begin() as conn:
        rebuild(conn)
    engine.dispose()
    assert _rows(replicated, FIGURES["report days"]) == days

    _serve(replicated, env, token, category, tmp_path, moment(start, SIZE))


def _serve(path: Path, env: dict[str, str], token: str, category: int, home: Path, end: datetime) -> None:
    month = {"since": (end - timedelta(days=30)).isoformat(), "until": end.isoformat()}
    proc, url = start_api({**env, "NIXFLOW_DATABASE_URL": _url(path)}, home, "nixflow serve (replicated)")
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as api:
            queue = api.get("/api/tickets", params={"status": "new", "limit": 50}).raise_for_status().json()
            assert len(queue["items"] if isinstance(queue, dict) else queue) == 50
            stats = api.get("/api/events/stats").raise_for_status().json()
            assert stats["total"] > SIZE * 10
            summary = api.get("/api/reports/summary", params=month).raise_for_status().json()
            assert summary
            api.get("/api/views").raise_for_status()
            created = api.post("/api/tickets", content=ticket_body(category, "replicated"),
                               headers={"Content-Type": "application/json"}).raise_for_status().json()  # fmt: skip
            assert created["id"] == SIZE + 1

            def assigned() -> bool:
                return api.get(f"/api/tickets/{created['id']}").json()["assignee_id"] is not None

            wait_for(assigned, timeout=30, what="the new ticket to be assigned")
    finally:
        proc.stop()
