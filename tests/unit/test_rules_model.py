"""The rule format v1: what is accepted, and how a bad rule is named."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from nixflow.domain.rules import RuleCreate, actions_json, conditions_json

OUTAGE: dict[str, Any] = {
    "name": "outage or down is critical",
    "kind": "prioritization",
    "conditions": {"any": [{"field": "text", "op": "contains_word", "value": ["outage", "down"]}]},
    "actions": [{"type": "set_priority", "value": "critical"}],
}


def test_contract_example_is_valid_and_round_trips() -> None:
    rule = RuleCreate.model_validate(OUTAGE)
    assert conditions_json(rule.conditions) == OUTAGE["conditions"]
    assert actions_json(rule.actions) == OUTAGE["actions"]
    assert (rule.active, rule.mode, rule.rollout_percent) == (True, "enforce", 100)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"conditions": {"all": [{"field": "mood", "op": "equals", "value": 1}]}}, "unknown field 'mood'"),
        ({"conditions": {"all": [{"field": "title", "op": "like", "value": "a"}]}}, "unknown operator 'like'"),
        ({"actions": [{"type": "reboot"}]}, "unknown action 'reboot'"),
        ({"conditions": {"all": [{"field": "minutes_open", "op": "gte", "value": "ten"}]}}, "must be a number"),
        ({"conditions": {"all": [{"field": "status", "op": "in", "value": ["open", "gone"]}]}}, "each one of"),
        ({"conditions": {"all": [{"field": "priority", "op": "contains_word", "value": "x"}]}}, "does not apply"),
        ({"actions": [{"type": "assign_round_robin", "user_id": 3}]}, "takes no 'user_id'"),
        ({"actions": [{"type": "notify"}]}, "needs 'role' or 'user_id'"),
        ({"actions": [{"type": "escalate", "level": 0}]}, "level must be"),
        ({"actions": []}, "at least 1"),
        ({"active": "yes"}, "valid boolean"),
    ],
)
def test_bad_rules_are_named(patch: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        RuleCreate.model_validate({**OUTAGE, **patch})
    assert message in str(caught.value)


def test_is_null_defaults_to_true() -> None:
    rule = RuleCreate.model_validate({**OUTAGE, "conditions": {"all": [{"field": "assignee_id", "op": "is_null"}]}})
    assert conditions_json(rule.conditions) == {"all": [{"field": "assignee_id", "op": "is_null", "value": True}]}
