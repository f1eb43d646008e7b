"""A new ticket's report counters are filed under the key its unit of work leaves it with (issue 29): the rules
that made it critical and assigned it ran before the projection, so no move of its counters is needed, and a
rebuild from the log, which moves them event by event, ends with the same rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from tests.conftest import Harness, User

from nixflow.reports.rebuild import rebuild
from nixflow.store.tables import report_days


async def _days(h: Harness) -> list[tuple[Any, ...]]:
    d = report_days.c
    columns = (d.category_id, d.assignee_id, d.priority, d.created, d.opened)
    rows: list[tuple[Any, ...]] = await h.nixflow.db.read(
        lambda conn: sorted(tuple(r) for r in conn.execute(select(*columns)))
    )
    return rows


async def test_an_automated_ticket_is_counted_under_the_key_its_rules_left(
    harness: Harness, admin: User, requester: User
) -> None:
    network = (await harness.client.post("/api/categories", json={"name": "Network"}, headers=admin.headers)).json()
    agent = await harness.user("agent", category_ids=[network["id"]])
    body = {"title": "Core switch is down", "description": "no link", "category_id": network["id"]}
    created = await harness.client.post("/api/tickets", json=body, headers=requester.headers)
    assert created.status_code == 201, created.text
    assert created.json()["priority"] == "critical" and created.json()["assignee_id"] == agent.id
    await harness.settle()
    live = await _days(harness)
    assert live == [(network["id"], agent.id, "critical", 1, 1)]  # no row left behind under "normal, unassigned"
    await harness.write(lambda tx: rebuild(tx.conn))
    assert await _days(harness) == live
