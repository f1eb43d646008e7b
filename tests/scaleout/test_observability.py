"""Scale-out operations with real processes: the Redis streams' backlog in `/metrics`, JSON logs in both processes."""

from __future__ import annotations

import json
import signal
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from nixflow.store.db import sync_url
from tests.scaleout.cluster import Cluster, PrivateRedis, running, wait_until
from tests.scaleout.test_cluster import arrange, cluster_env
from tests.smtp_server import smtp_server

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
def private_redis(tmp_path: Path) -> PrivateRedis:
    """A Redis of this test's own: its client list holds only this cluster's connections."""
    server = PrivateRedis(tmp_path)
    server.start()
    yield server  # type: ignore[misc]
    server.stop()


def observed_env(database: str, redis_url: str) -> dict[str, str]:
    return {
        **cluster_env(database, redis_url, "observed"),
        "NIXFLOW_METRICS_ALLOW": "127.0.0.1/32",
        "NIXFLOW_LOG_FORMAT": "json",
    }


def scrape(base: str) -> str:
    """The API's `/metrics` answer."""
    response = httpx.get(f"{base}/metrics", timeout=30)
    response.raise_for_status()
    return response.text


def backlog(base: str) -> dict[str, dict[str, float]]:
    """`{"pending"|"lag": {stream: value}}` for the group `workers`, from one scrape of the API's `/metrics`."""
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for family in text_string_to_metric_families(scrape(base)):
        kind = {"nixflow_stream_pending_messages": "pending", "nixflow_stream_lag_messages": "lag"}.get(family.name)
        for sample in family.samples if kind else []:
            assert sample.labels["group"] == "workers"
            out[kind][sample.labels["stream"]] = sample.value  # type: ignore[index]
    return out


def total(figures: dict[str, dict[str, float]], kind: str) -> float:
    return sum(figures.get(kind, {}).values())


def post_ticket(base: str, headers: dict[str, str], category_id: int, title: str) -> int:
    body = {"title": title, "description": "floor offline", "category_id": category_id}
    response = httpx.post(f"{base}/api/tickets", json=body, headers=headers, timeout=30)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def settle(database: str, ids: list[int]) -> None:
    """Wait until each ticket is assigned (its automation ran) and no event is left unfinished."""
    engine = create_engine(sync_url(database))

    def settled() -> bool:
        with engine.connect() as conn:
            assigned = conn.execute(
                text("SELECT count(*) FROM tickets WHERE assignee_id IS NOT NULL AND id = ANY(:ids)"), {"ids": ids}
            ).scalar()
            unfinished = conn.execute(
                text("SELECT count(*) FROM events WHERE status IN ('pending', 'processing', 'retrying')")
            ).scalar()
        return assigned == len(ids) and unfinished == 0

    try:
        wait_until(settled, timeout=60, what="the tickets automated", interval=0.2)
    finally:
        engine.dispose()


def comment(base: str, headers: dict[str, str], ticket_id: int, body: str) -> None:
    response = httpx.post(f"{base}/api/tickets/{ticket_id}/comments", json={"body": body}, headers=headers, timeout=30)
    assert response.status_code == 201, response.text


def query(database: str, sql: str, **params: object) -> list[Any]:
    """The rows of one statement, on a connection of its own."""
    engine = create_engine(sync_url(database))
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())
    finally:
        engine.dispose()


CREATED = "SELECT event_id, correlation_id FROM events WHERE event_type = 'ticket.created' AND aggregate_id = :id"


def created_event(database: str, ticket_id: int) -> str:
    return str(query(database, CREATED, id=str(ticket_id))[0].event_id)


async def test_a_stopped_workers_pending_and_lag_grow_and_fall_back_to_zero(
    tmp_path: Path, postgres_database: str, private_redis: PrivateRedis
) -> None:
    """The API delivers a ticket's events inline, except those waiting behind an unfinished earlier event of the
    ticket (here a replayed `ticket.created`): it publishes those, and only a worker takes them off the stream."""
    with running(Cluster(tmp_path, observed_env(postgres_database, private_redis.url))) as cluster:
        base = cluster.start_api()
        worker = cluster.start_worker()
        headers, _agents, category_id = arrange(cluster, base)
        ticket_id = post_ticket(base, headers, category_id, "Core switch 0 is down")
        settle(postgres_database, [ticket_id])
        wait_until(lambda: backlog(base)["pending"], timeout=30, what="the stream gauges")
        assert total(backlog(base), "pending") == 0 and total(backlog(base), "lag") == 0
        assert len(backlog(base)["lag"]) == 4  # one stream per priority

        worker.send_signal(signal.SIGSTOP)
        try:
            cluster.cli("events", "replay", created_event(postgres_database, ticket_id))
            comment(base, headers, ticket_id, "Still down on floor 2")
            wait_until(lambda: total(backlog(base), "lag") > 0, timeout=30, what="lag while the worker is stopped")
            before = backlog(base)
            for n in range(3):
                comment(base, headers, ticket_id, f"Still down, call {n}")
            wait_until(lambda: total(backlog(base), "lag") > total(before, "lag"), timeout=30, what="lag to grow")
            # A consumer that reads an entry and dies before acknowledging it: the entry is pending until a
            # worker takes it over (XAUTOCLAIM after NIXFLOW_CLAIM_IDLE_SECONDS).
            grown = backlog(base)
            client = redis.Redis(port=private_redis.port, decode_responses=True)
            assert client.xreadgroup("workers", "died-mid-batch", dict.fromkeys(grown["lag"], ">"), count=1)
            after = backlog(base)
            assert total(after, "pending") == 1 and total(after, "lag") == total(grown, "lag") - 1
        finally:
            worker.send_signal(signal.SIGCONT)
        settle(postgres_database, [ticket_id])
        wait_until(
            lambda: total(backlog(base), "pending") == 0 and total(backlog(base), "lag") == 0,
            timeout=30,
            what="pending and lag back to 0",
        )
        assert cluster.alive()
        private_redis.stop()  # a scrape during a Redis outage still answers, without the stream gauges
        assert backlog(base) == {}
        assert "nixflow_events_unfinished " in scrape(base)


def json_lines(log: Path) -> list[dict[str, object]]:
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line is one JSON object, or this raises


async def test_one_tickets_automation_logs_its_correlation_id_in_the_api_and_the_worker(
    tmp_path: Path, postgres_database: str, private_redis: PrivateRedis
) -> None:
    """The API runs the rules inline (priority, assignment) and logs it; the worker mails the assignee what the
    rules planned and logs that: both lines carry the ticket's correlation id and the event behind them."""
    with smtp_server() as smtp:
        env = {
            **observed_env(postgres_database, private_redis.url),
            "NIXFLOW_SMTP_URL": smtp.url,
            "NIXFLOW_NOTIFY_DELAY_SECONDS": "0",
        }
        with running(Cluster(tmp_path, env)) as cluster:
            base = cluster.start_api()
            cluster.start_worker()
            headers, _agents, category_id = arrange(cluster, base)
            ticket_id = post_ticket(base, headers, category_id, "Core switch 7 is down")
            settle(postgres_database, [ticket_id])
            assignee = ticket_events(postgres_database, ticket_id)[1]
            smtp.inbox.wait_for(1, address=assignee, timeout=60)
            wait_until(
                lambda: "notification.sent" in ticket_events(postgres_database, ticket_id)[0].values(),
                timeout=30,
                what="notification.sent in the ticket's automation",
            )
            cluster.stop()  # the processes flush and close their logs
    events, _ = ticket_events(postgres_database, ticket_id)
    correlation = {event_id.split("/")[1] for event_id in events}
    ids = {event_id.split("/")[0] for event_id in events}
    assert len(correlation) == 1, events
    port = base.rsplit(":", 1)[1]
    for name in (f"api-{port}", "worker-0"):
        ours = [line for line in json_lines(tmp_path / f"{name}.log") if line.get("correlation_id") in correlation]
        assert ours, f"no line of {name} carries the ticket's correlation id {correlation}"
        assert any(line.get("event_id") in ids for line in ours), f"no line of {name} names one of its events"


def ticket_events(database: str, ticket_id: int) -> tuple[dict[str, str], str]:
    """`{"event_id/correlation_id": type}` of the ticket's creation and what it caused (mail included), and
    its assignee's email."""
    created = query(database, CREATED, id=str(ticket_id))[0].correlation_id
    rows = query(
        database, "SELECT event_id, correlation_id, event_type FROM events WHERE correlation_id = :c", c=created
    )
    assignee = query(
        database, "SELECT u.email FROM tickets t JOIN users u ON u.id = t.assignee_id WHERE t.id = :id", id=ticket_id
    )[0].email
    return {f"{r.event_id}/{r.correlation_id}": r.event_type for r in rows}, str(assignee)
