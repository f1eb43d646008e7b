"""Scale-out with real processes: two APIs and two workers on PostgreSQL and Redis, nothing lost.

Each test posts a burst of "down" tickets in a category of three agents: each must end `critical`
and assigned exactly once, with round-robin shares within one ticket of each other, whatever
happens to a worker, Redis or PostgreSQL in the middle.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from nixflow.store.db import sync_url
from tests.scaleout.cluster import Cluster, PrivatePostgres, PrivateRedis, running, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
PASSWORD = "cluster-password-1"
TICKETS = int(os.environ.get("NIXFLOW_CLUSTER_TICKETS", "1000"))


def cluster_env(database_url: str, redis_url: str, prefix: str) -> dict[str, str]:
    return {
        "NIXFLOW_DATABASE_URL": database_url,
        "NIXFLOW_REDIS_URL": redis_url,
        "NIXFLOW_REDIS_PREFIX": prefix,
        "NIXFLOW_CLAIM_IDLE_SECONDS": "3",
        "NIXFLOW_SWEEP_AFTER_SECONDS": "2",
        "NIXFLOW_TICK_SECONDS": "0.5",
        "NIXFLOW_SECRET_KEY": "cluster-test-secret",
    }


def login(base: str, email: str) -> dict[str, str]:
    response = httpx.post(f"{base}/api/auth/login", json={"email": email, "password": PASSWORD}, timeout=30)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def arrange(cluster: Cluster, base: str) -> tuple[dict[str, str], list[int], int]:
    """An admin, three agents in "Network", a requester; returns the requester's headers, agents, category."""
    cluster.cli(
        "users", "create", "--email", "admin@example.com", "--name", "Admin", "--role", "admin", "--password", PASSWORD
    )
    admin = login(base, "admin@example.com")
    agents = []
    for i in range(3):
        created = httpx.post(
            f"{base}/api/users",
            headers=admin,
            timeout=30,
            json={"email": f"agent{i}@example.com", "name": f"Agent {i}", "role": "agent", "password": PASSWORD},
        )
        created.raise_for_status()
        agents.append(created.json()["id"])
    category = httpx.post(
        f"{base}/api/categories", headers=admin, timeout=30, json={"name": "Network", "agent_ids": agents}
    )
    category.raise_for_status()
    httpx.post(
        f"{base}/api/users",
        headers=admin,
        timeout=30,
        json={"email": "req@example.com", "name": "Requester", "role": "requester", "password": PASSWORD},
    ).raise_for_status()
    return login(base, "req@example.com"), agents, int(category.json()["id"])


async def post_burst(
    bases: list[str],
    headers: dict[str, str],
    category_id: int,
    count: int,
    *,
    clients: int = 8,
    on_progress: Any = None,
    name: str = "burst",
) -> list[int]:
    """Post `count` tickets across the APIs; a 503 or a dropped connection is retried with the same
    Idempotency-Key, so a retry never creates a second ticket."""
    numbers = iter(range(count))
    ids: list[int] = []
    cycle = itertools.cycle(bases)

    async def client() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            for n in numbers:
                body = {"title": f"Core switch {n} is down", "description": "floor offline", "category_id": category_id}
                key = {"Idempotency-Key": f"{name}-{n}"}
                for _attempt in range(600):
                    try:
                        response = await http.post(f"{next(cycle)}/api/tickets", json=body, headers={**headers, **key})
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
                        continue
                    if response.status_code == 201:
                        ids.append(response.json()["id"])
                        break
                    assert response.status_code == 503, response.text
                    await asyncio.sleep(0.1)
                else:
                    raise AssertionError(f"ticket {n} was never accepted")
                if on_progress is not None:
                    await on_progress(len(ids))

    await asyncio.gather(*[client() for _ in range(clients)])
    return ids


def verify(
    database_url: str, ticket_ids: list[int], agents: list[int], *, timeout: float = 180, spread: int = 1
) -> dict[str, Any]:
    """Wait until every ticket is automated; then check each was prioritised and assigned exactly once."""
    engine = create_engine(sync_url(database_url), pool_pre_ping=True)
    try:

        def done() -> bool:
            with engine.connect() as conn:
                assigned = conn.execute(text("SELECT count(*) FROM tickets WHERE assignee_id IS NOT NULL")).scalar()
                open_events = conn.execute(
                    text("SELECT count(*) FROM events WHERE status IN ('pending', 'processing', 'retrying')")
                ).scalar()
            return assigned == len(ticket_ids) and open_events == 0

        try:
            wait_until(done, timeout=timeout, what="every ticket automated and no event left open", interval=0.5)
        except AssertionError:
            with engine.connect() as conn:
                states = conn.execute(
                    text("SELECT event_type, status, count(*), max(error) FROM events GROUP BY event_type, status")
                ).all()
                unassigned = conn.execute(text("SELECT id FROM tickets WHERE assignee_id IS NULL")).all()
            raise AssertionError(f"not settled: events {states}; unassigned tickets {unassigned}") from None
        with engine.connect() as conn:
            tickets = conn.execute(text("SELECT id, priority, assignee_id FROM tickets")).all()
            per_ticket = conn.execute(
                text(
                    "SELECT aggregate_id, event_type, count(*) FROM events WHERE aggregate_type = 'ticket' "
                    "AND event_type IN ('ticket.created', 'ticket.assigned', 'ticket.priority_changed') "
                    "GROUP BY aggregate_id, event_type"
                )
            ).all()
            statuses = dict(conn.execute(text("SELECT status, count(*) FROM events GROUP BY status")).all())
            unfinished = conn.execute(
                text("SELECT event_type, status, retry_count, error FROM events WHERE status IN ('failed', 'retrying')")
            ).all()
    finally:
        engine.dispose()
    assert "failed" not in statuses and "retrying" not in statuses, f"events that did not complete: {unfinished}"
    assert sorted(t.id for t in tickets) == sorted(ticket_ids)
    assert {t.priority for t in tickets} == {"critical"}
    counts = Counter((row[0], row[1]) for row in per_ticket for _ in range(row[2]))
    for ticket_id in ticket_ids:
        for event_type in ("ticket.created", "ticket.assigned", "ticket.priority_changed"):
            assert counts[(str(ticket_id), event_type)] == 1, (
                ticket_id,
                event_type,
                counts[(str(ticket_id), event_type)],
            )
    shares = Counter(t.assignee_id for t in tickets)
    assert set(shares) == set(agents)
    assert max(shares.values()) - min(shares.values()) <= spread, shares
    return {"shares": dict(shares), "statuses": statuses}


@pytest.fixture
def database(postgres_database: str) -> str:
    return postgres_database


async def test_two_apis_and_two_workers_automate_each_ticket_exactly_once(
    tmp_path: Path, database: str, redis_prefix: str
) -> None:
    env = cluster_env(database, os.environ["NIXFLOW_TEST_REDIS_URL"], redis_prefix)
    with running(Cluster(tmp_path, env)) as cluster:
        bases = [cluster.start_api(), cluster.start_api()]
        cluster.start_worker()
        cluster.start_worker()
        headers, agents, category_id = arrange(cluster, bases[0])
        started = time.monotonic()
        ids = await post_burst(bases, headers, category_id, TICKETS)
        result = verify(database, ids, agents)
        print(f"\n{TICKETS} tickets automated in {time.monotonic() - started:.1f} s; shares {result['shares']}")
        assert cluster.alive()


async def test_a_worker_killed_mid_burst_loses_nothing(tmp_path: Path, database: str, redis_prefix: str) -> None:
    env = cluster_env(database, os.environ["NIXFLOW_TEST_REDIS_URL"], redis_prefix)
    with running(Cluster(tmp_path, env)) as cluster:
        bases = [cluster.start_api(), cluster.start_api()]
        victim = cluster.start_worker()
        cluster.start_worker()
        headers, agents, category_id = arrange(cluster, bases[0])
        killed = False

        async def kill_at_a_third(accepted: int) -> None:
            nonlocal killed
            if not killed and accepted >= TICKETS // 3:
                killed = True
                victim.send_signal(signal.SIGKILL)
                victim.wait()
                cluster.workers.remove(victim)

        ids = await post_burst(bases, headers, category_id, TICKETS, on_progress=kill_at_a_third)
        assert killed
        cluster.start_worker()
        verify(database, ids, agents)
        assert cluster.alive()


async def test_redis_stopped_for_ten_seconds_mid_burst_loses_nothing(tmp_path: Path, database: str) -> None:
    redis_server = PrivateRedis(tmp_path)
    redis_server.start()
    env = cluster_env(database, redis_server.url, "outage")
    try:
        with running(Cluster(tmp_path, env)) as cluster:
            bases = [cluster.start_api(), cluster.start_api()]
            cluster.start_worker()
            cluster.start_worker()
            headers, agents, category_id = arrange(cluster, bases[0])
            outage: asyncio.Task[None] | None = None

            async def stop_redis_for_ten_seconds() -> None:
                redis_server.stop()
                await asyncio.sleep(10)
                redis_server.start()

            async def at_a_third(accepted: int) -> None:
                nonlocal outage
                if outage is None and accepted >= TICKETS // 3:
                    outage = asyncio.create_task(stop_redis_for_ten_seconds())

            ids = await post_burst(bases, headers, category_id, TICKETS, on_progress=at_a_third)
            assert outage is not None
            await outage
            verify(database, ids, agents)
            assert cluster.alive()
    finally:
        redis_server.stop()


async def test_postgres_stopped_for_ten_seconds_gets_503_and_recovers(tmp_path: Path, redis_prefix: str) -> None:
    postgres = PrivatePostgres(tmp_path)
    postgres.init()
    env = cluster_env(postgres.url, os.environ["NIXFLOW_TEST_REDIS_URL"], redis_prefix)
    try:
        with running(Cluster(tmp_path, env)) as cluster:
            bases = [cluster.start_api(), cluster.start_api()]
            cluster.start_worker()
            cluster.start_worker()
            headers, agents, category_id = arrange(cluster, bases[0])
            before = await post_burst(bases, headers, category_id, 50)
            postgres.stop()
            try:
                body = {"title": "Switch is down", "category_id": category_id}
                async with httpx.AsyncClient(timeout=30) as http:
                    write = await http.post(f"{bases[0]}/api/tickets", json=body, headers=headers)
                    health = await http.get(f"{bases[1]}/api/health")
                assert write.status_code == 503, write.text
                assert write.headers["content-type"].startswith("application/problem+json")
                assert health.status_code == 503 and health.json()["database"] != "ok"
                await asyncio.sleep(10)
                assert cluster.alive()
            finally:
                postgres.start()
            wait_until(
                lambda: httpx.get(f"{bases[0]}/api/health", timeout=5).status_code == 200,
                timeout=60,
                what="health back to 200",
            )
            after = await post_burst(bases, headers, category_id, 50, name="after-outage")
            verify(postgres.url, before + after, agents)
            assert cluster.alive()
    finally:
        postgres.remove()
