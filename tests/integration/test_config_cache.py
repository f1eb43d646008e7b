"""Configuration cached per process is never stale: a change made anywhere is seen by the next unit of work.

Two NixFlow apps on one database (two APIs): each opens tickets (so each has configuration cached), one
changes the configuration, the other's next ticket follows it. A change made by hand in SQL is followed too
(the trigger moves the token, not the service), and so is a change that follows one rolled back after its unit
of work had read and cached the configuration it made (tokens are never reused). Both modes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, text, update
from sqlalchemy.pool import NullPool
from tests.conftest import Harness, User, start

from nixflow.config import Settings
from nixflow.domain.envelope import EventContext
from nixflow.domain.values import Priority
from nixflow.ids import uuid7
from nixflow.services import ticket_sla
from nixflow.store.db import Tx, sync_url
from nixflow.store.tables import sla_policies


@pytest.fixture
async def other(settings: Settings, harness: Harness) -> AsyncIterator[Harness]:
    """A second app on the same database (and the same Redis, in scale-out): another API process."""
    async for h in start(settings):
        yield h


async def _open(h: Harness, who: User, **body: Any) -> dict[str, Any]:
    created = await h.client.post("/api/tickets", json={"title": "Printer jams", "description": "x", **body},
                                  headers=who.headers)  # fmt: skip
    assert created.status_code == 201, created.text
    ticket: dict[str, Any] = created.json()
    return ticket


def _first_response_minutes(ticket: dict[str, Any]) -> float:
    opened = datetime.fromisoformat(ticket["created_at"])
    return (datetime.fromisoformat(ticket["sla"]["first_response_due"]) - opened) / timedelta(minutes=1)


async def test_a_change_through_one_app_is_seen_by_the_next_ticket_of_the_other(
    harness: Harness, other: Harness
) -> None:
    admin, requester = await harness.user("admin"), await harness.user("requester")
    before = await _open(other, requester)  # the other app has rules, policies, categories, fields cached now
    assert before["priority"] == "normal"
    assert _first_response_minutes(before) == 240

    policy = {"first_response_minutes": 17, "resolution_minutes": 600, "warning_percent": 80}
    assert (await harness.client.put("/api/sla/policies/high", json=policy, headers=admin.headers)).status_code == 200
    rule = {
        "name": "printers",
        "kind": "prioritization",
        "conditions": {"all": [{"field": "title", "op": "contains_word", "value": "printer"}]},
        "actions": [{"type": "set_priority", "value": "high"}],
    }
    assert (await harness.client.post("/api/rules", json=rule, headers=admin.headers)).status_code == 201
    category = await harness.client.post("/api/categories", json={"name": "Printers"}, headers=admin.headers)
    assert category.status_code == 201, category.text
    field = {"entity": "ticket", "key": "floor", "label": "Floor", "type": "number", "requester_visible": True}
    assert (await harness.client.post("/api/fields", json=field, headers=admin.headers)).status_code == 201

    after = await _open(other, requester, category_id=category.json()["id"], fields={"floor": 2})
    await other.settle()
    shown = (await other.client.get(f"/api/tickets/{after['id']}", headers=admin.headers)).json()
    assert shown["priority"] == "high"  # the new rule
    assert _first_response_minutes(shown) == 17  # the new policy of that priority
    assert shown["category_id"] == category.json()["id"]  # the new category is known (not a 404)
    assert shown["fields"] == {"floor": 2}  # the new field is known (not a 422)


async def test_a_change_by_hand_in_sql_is_seen(harness: Harness, database_url: str) -> None:
    requester = await harness.user("requester")
    assert _first_response_minutes(await _open(harness, requester)) == 240
    engine = create_engine(sync_url(database_url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE sla_policies SET first_response_minutes = 99 WHERE priority = 'normal'"))
    finally:
        engine.dispose()
    assert _first_response_minutes(await _open(harness, requester)) == 99


class _RolledBack(Exception):
    pass


async def test_a_change_after_one_rolled_back_is_seen(harness: Harness) -> None:
    """A unit of work changes a policy, reads (and so caches) it, and rolls back; the next change, committed,
    must not be taken for the one rolled back."""
    requester = await harness.user("requester")
    assert _first_response_minutes(await _open(harness, requester)) == 240
    ctx = EventContext(correlation_id=uuid7(), actor_id=None, source="test")

    def set_normal(minutes: int) -> Any:
        def change(tx: Tx) -> float:
            tx.conn.execute(
                update(sla_policies).where(sla_policies.c.priority == "normal").values(first_response_minutes=minutes)
            )
            policy = ticket_sla.policy_for(tx, {"priority": Priority.NORMAL.value})
            assert policy is not None
            return policy.first_response_minutes

        return change

    def change_and_roll_back(tx: Tx) -> None:
        assert set_normal(55)(tx) == 55  # read inside the transaction: cached with the token it saw
        raise _RolledBack

    with pytest.raises(_RolledBack):
        await harness.nixflow.writer.run(change_and_roll_back, ctx)
    assert await harness.nixflow.writer.run(set_normal(66), ctx) == 66
    assert _first_response_minutes(await _open(harness, requester)) == 66
