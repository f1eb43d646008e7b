"""NIXFLOW_OTEL_ENDPOINT on real processes exporting to a real OTLP/HTTP receiver: a ticket's creation, its
automation (the "outage" rule, round-robin) and the mail telling its assignee are one trace whose id is the
correlation id, one tree across the API and worker processes of scale-out; spans still batched at shutdown are
flushed."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from tests.conftest import redis_url
from tests.otlp_receiver import ReceivedSpan, otlp_receiver
from tests.scaleout.cluster import Cluster, free_port, running
from tests.smtp_server import smtp_server
from tests.webhook_receiver import Receiver

PASSWORD = "traces-password-1"


def _env(mode: str, database_url: str, request: pytest.FixtureRequest, smtp_url: str, otlp: str) -> dict[str, str]:
    env = {
        "NIXFLOW_DATABASE_URL": database_url,
        "NIXFLOW_SECRET_KEY": "traces-test-secret",
        "NIXFLOW_TICK_SECONDS": "0.2",
        "NIXFLOW_SMTP_URL": smtp_url,
        "NIXFLOW_MAIL_FROM": "NixFlow <help@example.com>",
        "NIXFLOW_BASE_URL": "https://help.example.com",
        "NIXFLOW_NOTIFY_DELAY_SECONDS": "0",
        "NIXFLOW_WEBHOOK_ALLOW_PRIVATE": "true",
        "NIXFLOW_OTEL_ENDPOINT": otlp,
        # Nothing is exported on the schedule during the test: what arrives was flushed at shutdown.
        "OTEL_BSP_SCHEDULE_DELAY": "600000",
        "OTEL_BSP_MAX_QUEUE_SIZE": "100000",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "100000",
    }
    if mode == "scaleout":
        env |= {"NIXFLOW_REDIS_URL": str(redis_url()), "NIXFLOW_REDIS_PREFIX": request.getfixturevalue("redis_prefix")}
    return env


def _login(base: str, email: str) -> dict[str, str]:
    answer = httpx.post(f"{base}/api/auth/login", json={"email": email, "password": PASSWORD}, timeout=30)
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def _one_tree(spans: list[ReceivedSpan]) -> ReceivedSpan:
    """The root of `spans`, asserting every other span's parent is among them (one tree, nothing dangling)."""
    ids = {span.span_id for span in spans}
    roots = [span for span in spans if not span.parent_span_id]
    assert len(roots) == 1, [(s.name, s.service) for s in roots]
    dangling = [(s.name, s.service) for s in spans if s.parent_span_id and s.parent_span_id not in ids]
    assert not dangling, dangling
    return roots[0]


def _ancestors(span: ReceivedSpan, spans: list[ReceivedSpan]) -> list[str]:
    by_id = {s.span_id: s for s in spans}
    names = []
    while span.parent_span_id:
        span = by_id[span.parent_span_id]
        names.append(span.name)
    return names


def test_a_tickets_automation_is_one_trace_named_by_its_correlation(
    mode: str, database_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    hooks = Receiver(free_port())
    hooks.up()
    with otlp_receiver() as (otlp, received), smtp_server() as smtp:
        cluster = Cluster(tmp_path, _env(mode, database_url, request, smtp.url, otlp))
        with running(cluster):
            cluster.cli("db", "upgrade")
            create = ["users", "create", "--name", "Admin", "--role", "admin", "--password", PASSWORD]
            cluster.cli(*create, "--email", "admin@example.com")
            if mode == "scaleout":
                base = cluster.start_api()
                cluster.start_worker()
            else:
                base = cluster.start_api_process(["serve", "--port", str(free_port())])
            admin = _login(base, "admin@example.com")
            agent = httpx.post(
                f"{base}/api/users",
                headers=admin,
                timeout=30,
                json={"email": "agent@example.com", "name": "Agent", "role": "agent", "password": PASSWORD},
            )
            agent.raise_for_status()
            category = httpx.post(
                f"{base}/api/categories",
                headers=admin,
                timeout=30,
                json={"name": "Network", "agent_ids": [agent.json()["id"]]},
            )
            category.raise_for_status()
            hook = {"url": hooks.url, "event_types": ["ticket.assigned"]}
            httpx.post(f"{base}/api/webhooks", headers=admin, timeout=30, json=hook).raise_for_status()
            made = httpx.post(
                f"{base}/api/tickets",
                headers=admin,
                timeout=30,
                json={"title": "Outage in the lab", "description": "all down", "category_id": category.json()["id"]},
            )
            assert made.status_code == 201, made.text
            assert made.json()["priority"] == "critical" and made.json()["assignee_id"] == agent.json()["id"]
            created = httpx.get(
                f"{base}/api/events",
                params={"type": "ticket.created", "aggregate_id": str(made.json()["id"])},
                headers=admin,
                timeout=30,
            ).json()["items"]
            correlation = created[0]["metadata"]["correlation_id"]
            smtp.inbox.wait_for(1, address="agent@example.com", timeout=60)
            hooks.wait_for(1, timeout=60)
            early = received.of_trace(uuid.UUID(correlation).hex)
            assert not early, sorted({(s.service, s.pid) for s in early})
        spans = received.of_trace(uuid.UUID(correlation).hex)  # the processes flushed their batches as they stopped
    hooks.down()
    names = [span.name for span in spans]
    root = _one_tree(spans)
    assert root.name == "POST /api/tickets" and root.attributes["http.response.status_code"] == 201, names
    for event_type in ("ticket.created", "ticket.priority_changed", "ticket.assigned"):
        assert f"event {event_type}" in names, names
    by_handler = {s.attributes.get("nixflow.handler"): s for s in spans if s.name.startswith("handler ")}
    rules = [s for s in spans if s.name == "handler automation.rules"]
    assert rules and all(s.attributes["nixflow.outcome"] == "completed" for s in rules), by_handler.keys()
    assert any(s.attributes["nixflow.event_type"] == "ticket.created" for s in rules)
    written = {s.attributes["nixflow.event_id"] for s in spans if s.name.startswith("event ")}
    assert created[0]["event_id"] in written
    mail = [s for s in spans if s.name == "smtp send"]
    assert len(mail) == 1, names
    assert _ancestors(mail[0], spans)[-1] == "POST /api/tickets"
    by_id = {s.span_id: s for s in spans}
    delivered = [s for s in spans if s.name == "webhook delivery"]
    assert len(delivered) == 1 and by_id[delivered[0].parent_span_id].name == "event ticket.assigned", names
    assert by_id[mail[0].parent_span_id].name == "event ticket.assigned"
    services = {s.service for s in spans}
    if mode == "scaleout":  # created and automated in the API process, mailed by the worker
        assert services == {"nixflow-serve", "nixflow-worker"}, services
        assert mail[0].service == delivered[0].service == "nixflow-worker" and root.service == "nixflow-serve"
    else:
        assert services == {"nixflow-serve"}
