"""The event log over HTTP: list, filters, one event, statistics, catalogue, replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import Harness, User


async def test_list_filters_and_pages_newest_first(harness: Harness, admin: User, requester: User) -> None:
    for i in range(5):
        await harness.client.post("/api/tickets", json={"title": f"t{i}"}, headers=requester.headers)
    await harness.settle()
    page = (
        await harness.client.get("/api/events", params={"type": "ticket.created", "limit": 2}, headers=admin.headers)
    ).json()
    assert [e["data"]["title"] for e in page["items"]] == ["t4", "t3"]
    rest = (
        await harness.client.get(
            "/api/events",
            params={"type": "ticket.created", "limit": 10, "cursor": page["next_cursor"]},
            headers=admin.headers,
        )
    ).json()
    assert [e["data"]["title"] for e in rest["items"]] == ["t2", "t1", "t0"] and rest["next_cursor"] is None
    one = page["items"][0]
    by_correlation = (
        await harness.client.get(
            "/api/events", params={"correlation_id": one["metadata"]["correlation_id"]}, headers=admin.headers
        )
    ).json()
    assert [e["event_id"] for e in by_correlation["items"]] == [one["event_id"]]
    for params in (
        {"category": "ticket"},
        {"status": "completed"},
        {"priority": "normal"},
        {"aggregate_id": one["aggregate_id"]},
    ):
        items = (await harness.client.get("/api/events", params=params, headers=admin.headers)).json()["items"]
        assert items and one["event_id"] in [e["event_id"] for e in items], params
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (await harness.client.get("/api/events", params={"since": future}, headers=admin.headers)).json()[
        "items"
    ] == []
    bad = await harness.client.get("/api/events", params={"status": "sleeping"}, headers=admin.headers)
    assert bad.status_code == 422


async def test_one_event_and_unknown_ids(harness: Harness, admin: User, requester: User) -> None:
    await harness.client.post("/api/tickets", json={"title": "x"}, headers=requester.headers)
    await harness.settle()
    [created] = await harness.events(type="ticket.created")
    got = (await harness.client.get(f"/api/events/{created['event_id']}", headers=admin.headers)).json()
    assert got["type"] == "ticket.created" and got["aggregate_type"] == "ticket"
    assert set(got) >= {
        "event_id",
        "type",
        "category",
        "priority",
        "status",
        "retry_count",
        "timestamp",
        "aggregate_type",
        "aggregate_id",
        "data",
        "metadata",
        "error",
    }
    assert set(got["metadata"]) >= {"correlation_id", "causation_id", "source", "version", "actor_id"}
    assert (await harness.client.get("/api/events/nope", headers=admin.headers)).status_code == 404
    assert (await harness.client.post("/api/events/nope/replay", headers=admin.headers)).status_code == 404


async def test_stats_count_by_type_status_and_priority(harness: Harness, admin: User, requester: User) -> None:
    for _ in range(3):
        await harness.client.post("/api/tickets", json={"title": "x"}, headers=requester.headers)
    await harness.settle()
    stats = (await harness.client.get("/api/events/stats", headers=admin.headers)).json()
    assert stats["by_type"]["ticket.created"] == 3
    assert stats["total"] == sum(stats["by_type"].values()) == sum(stats["by_status"].values())
    assert sum(stats["by_priority"].values()) == stats["total"]
    later = (
        await harness.client.get(
            "/api/events/stats",
            params={"since": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()},
            headers=admin.headers,
        )
    ).json()
    assert later["total"] == 0


async def test_catalogue_lists_every_type_with_a_schema(harness: Harness, requester: User) -> None:
    types = (await harness.client.get("/api/events/types", headers=requester.headers)).json()
    names = {t["type"] for t in types}
    assert len(names) >= 40  # what is emitted: the catalogue declares no type without a producer
    categories = {t["category"] for t in types}
    assert categories <= {
        *("ticket", "automation", "sla", "kb", "user", "workflow", "notification", "email", "webhook", "calendar"),
        *("macro", "organization"),  # issue 25
        "csat",  # issue 26
        "mailbox",  # issue 27: OAuth2 mailboxes
    }
    assert {"ticket", "automation", "sla", "kb", "user", "notification", "email", "webhook"} <= categories
    for required in (
        "ticket.created",
        "ticket.updated",
        "ticket.status_changed",
        "ticket.assigned",
        "ticket.priority_changed",
        "ticket.commented",
        "ticket.approval_requested",
        "ticket.approved",
        "ticket.rejected",
        "ticket.escalated",
        "automation.rule_applied",
        "automation.rule_failed",
        "automation.rule_shadowed",
        "sla.warning",
        "sla.breached",
        "user.created",
        "user.login_failed",
    ):
        assert required in names
    created = next(t for t in types if t["type"] == "ticket.created")
    assert created["schema"]["type"] == "object" and "ticket_id" in created["schema"]["properties"]


async def test_replay_is_accepted(harness: Harness, admin: User, requester: User) -> None:
    await harness.client.post("/api/tickets", json={"title": "x"}, headers=requester.headers)
    await harness.settle()
    [created] = await harness.events(type="ticket.created")
    response = await harness.client.post(f"/api/events/{created['event_id']}/replay", headers=admin.headers)
    assert response.status_code == 202
    await harness.settle()
    again = (await harness.client.get(f"/api/events/{created['event_id']}", headers=admin.headers)).json()
    assert again["status"] == "completed"


async def test_health(harness: Harness, mode: str) -> None:
    response = await harness.client.get("/api/health")
    bus = "embedded" if mode == "embedded" else "ok"
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "bus": bus}
