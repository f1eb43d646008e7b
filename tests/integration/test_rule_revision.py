"""The process-wide cache of active rules follows every rule change, even two made at the same instant.

The cache used to be keyed by (count, max id, max `updated_at`): a second edit stamped with the same time
(one SQLite writer turn shares `tx.now`; PostgreSQL's `now()` is the transaction start) left that key as it
was, and every process kept the stale rule. It is keyed by the `rules` table's token now, which a trigger moves in
the transaction of the change (`store.config_cache`). Here the clock stands still, so both edits carry the same
time. Both modes.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness, ManualClock

RULE: dict[str, Any] = {
    "name": "printer tickets",
    "kind": "prioritization",
    "conditions": {"all": [{"field": "title", "op": "contains_word", "value": "printer"}]},
    "actions": [{"type": "set_priority", "value": "high"}],
}


async def _priority_of_new_ticket(h: Harness, headers: dict[str, str]) -> str:
    body = {"title": "Printer jams", "description": "second floor"}
    created = await h.client.post("/api/tickets", json=body, headers=headers)
    assert created.status_code == 201, created.text
    await h.settle()
    ticket = await h.client.get(f"/api/tickets/{created.json()['id']}", headers=headers)
    return str(ticket.json()["priority"])


async def test_a_second_rule_edit_at_the_same_instant_takes_effect(timed_harness: Harness, clock: ManualClock) -> None:
    h = timed_harness
    admin, requester = await h.user("admin"), await h.user("requester")
    rule = await h.client.post("/api/rules", json=RULE, headers=admin.headers)
    assert rule.status_code == 201, rule.text
    url = f"/api/rules/{rule.json()['id']}"
    first = await h.client.patch(
        url, json={"actions": [{"type": "set_priority", "value": "low"}]}, headers=admin.headers
    )
    assert first.status_code == 200, first.text
    assert await _priority_of_new_ticket(h, requester.headers) == "low"  # the cache now holds the first edit

    second = {"actions": [{"type": "set_priority", "value": "high"}]}
    patched = await h.client.patch(url, json=second, headers=admin.headers)
    assert patched.status_code == 200, patched.text
    assert patched.json()["updated_at"] == first.json()["updated_at"]  # the same instant: the old key stood still
    assert await _priority_of_new_ticket(h, requester.headers) == "high"

    # Turning the rule off at that instant too is seen as well.
    off = await h.client.patch(url, json={"active": False}, headers=admin.headers)
    assert off.status_code == 200, off.text
    assert await _priority_of_new_ticket(h, requester.headers) == "normal"
