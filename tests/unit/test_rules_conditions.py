"""Rule evaluation without I/O: words, operators, rollout share, escalation timing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from nixflow.domain.conditions import contains_word, escalation_due, facts_of, in_rollout, matches, ready_at

T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


def ticket(**changes: Any) -> dict[str, Any]:
    base = {
        "id": 7,
        "title": "Core switch is down",
        "description": "",
        "priority": "normal",
        "status": "new",
        "category_id": 1,
        "requester_id": 3,
        "assignee_id": None,
        "escalation_level": 0,
        "created_at": T0,
        "updated_at": T0,
        "sla_state": {},
    }
    return {**base, **changes}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Core switch is down", True),
        ("DOWN!", True),
        ("down-time", True),
        ("Downtime", False),
        ("breakdown", False),
        ("an OUTAGE", True),
        ("outages", False),
        ("", False),
    ],
)
def test_contains_word_is_whole_word_any_case(text: str, expected: bool) -> None:
    assert contains_word(text, ["outage", "down"]) is expected


def test_all_and_any() -> None:
    facts = facts_of(ticket(), T0)
    crit = {"field": "priority", "op": "equals", "value": "critical"}
    down = {"field": "text", "op": "contains_word", "value": "down"}
    assert matches({}, facts)
    assert matches({"any": [crit, down]}, facts)
    assert not matches({"all": [crit, down]}, facts)
    assert matches({"all": [{"field": "assignee_id", "op": "is_null", "value": True}], "any": [down]}, facts)
    assert not matches({"all": [{"field": "category_id", "op": "not_in", "value": [1, 2]}]}, facts)
    assert matches({"all": [{"field": "title", "op": "contains", "value": "SWITCH"}]}, facts)


def test_time_facts() -> None:
    later = T0 + timedelta(minutes=30)
    facts = facts_of(ticket(updated_at=T0 + timedelta(minutes=20)), later)
    assert facts["minutes_open"] == 30 and facts["minutes_unassigned"] == 30 and facts["minutes_since_update"] == 10
    assert facts_of(ticket(assignee_id=5), later)["minutes_unassigned"] == 0


@pytest.mark.parametrize("percent", [10, 25, 50, 90])
def test_rollout_share_over_2000_tickets(percent: int) -> None:
    share = sum(in_rollout(42, ticket_id, percent) for ticket_id in range(1, 2001)) / 2000
    assert abs(share - percent / 100) <= 0.05
    assert [in_rollout(42, t, percent) for t in range(50)] == [in_rollout(42, t, percent) for t in range(50)]


def test_rollout_edges_and_rules_pick_different_tickets() -> None:
    assert all(in_rollout(1, t, 100) for t in range(100)) and not any(in_rollout(1, t, 0) for t in range(100))
    assert [in_rollout(1, t, 50) for t in range(100)] != [in_rollout(2, t, 50) for t in range(100)]


def rule(rule_id: int, conditions: dict[str, Any], level: int, mode: str = "enforce") -> dict[str, Any]:
    return {
        "id": rule_id,
        "mode": mode,
        "rollout_percent": 100,
        "conditions": conditions,
        "actions": [{"type": "escalate", "level": level}],
    }


UNASSIGNED_15 = {
    "all": [
        {"field": "priority", "op": "equals", "value": "critical"},
        {"field": "minutes_unassigned", "op": "gte", "value": 15},
    ]
}
OPEN_60 = {"all": [{"field": "minutes_open", "op": "gte", "value": 60}]}


def test_ready_at() -> None:
    assert ready_at(UNASSIGNED_15, ticket(priority="critical")) == T0 + timedelta(minutes=15)
    assert ready_at(UNASSIGNED_15, ticket(priority="critical", assignee_id=4)) is None
    either = {
        "any": [
            {"field": "minutes_open", "op": "gte", "value": 60},
            {"field": "minutes_since_update", "op": "gte", "value": 5},
        ]
    }
    assert ready_at(either, ticket()) == T0 + timedelta(minutes=5)


def test_a_rule_whose_other_conditions_do_not_hold_schedules_nothing() -> None:
    """A normal ticket is not woken at +15 minutes for a rule that only matches critical tickets."""
    assert ready_at(UNASSIGNED_15, ticket(priority="normal")) is None
    assert escalation_due([rule(1, UNASSIGNED_15, 1)], ticket(priority="normal"), T0) == ([], None)
    only_category_7 = {"any": [{"field": "category_id", "op": "equals", "value": 7}], **OPEN_60}
    assert ready_at(only_category_7, ticket(category_id=3)) is None
    assert ready_at(only_category_7, ticket(category_id=7)) == T0 + timedelta(minutes=60)


def test_escalation_due_and_next() -> None:
    rules = [rule(1, UNASSIGNED_15, 1), rule(2, OPEN_60, 2)]
    critical = ticket(priority="critical")
    assert escalation_due(rules, critical, T0) == ([], T0 + timedelta(minutes=15))
    due, upcoming = escalation_due(rules, critical, T0 + timedelta(minutes=16))
    assert [r["id"] for r in due] == [1] and upcoming == T0 + timedelta(minutes=60)
    # Level 1 reached: only level 2 is left; a normal ticket never matches the critical rule once its time passed.
    assert escalation_due(rules, {**critical, "escalation_level": 1}, T0 + timedelta(minutes=16)) == (
        [],
        T0 + timedelta(minutes=60),
    )
    assert escalation_due(rules, ticket(), T0 + timedelta(minutes=16)) == ([], T0 + timedelta(minutes=60))
    shadow = [rule(3, OPEN_60, 3, mode="shadow")]
    assert escalation_due(shadow, ticket(sla_state={"escalations_shadowed": [3]}), T0 + timedelta(hours=2)) == (
        [],
        None,
    )
