"""When a step is decided: one formula for all, any and N of M (`domain/workflows.step_outcome`)."""

from __future__ import annotations

import pytest

from nixflow.domain.errors import ValidationFailed
from nixflow.domain.workflows import Decision, checked_definition, step_outcome

PEOPLE = [1, 2, 3]


def _step(rule: str, required: int | None = None) -> dict[str, object]:
    return {"rule": rule, "required": required}


@pytest.mark.parametrize(
    ("rule", "required", "said", "outcome"),
    [
        ("all", None, {1: True, 2: True}, None),
        ("all", None, {1: True, 2: True, 3: True}, "approved"),
        ("all", None, {1: True, 3: False}, "rejected"),
        ("any", None, {1: False, 2: False}, None),
        ("any", None, {1: False, 2: True}, "approved"),
        ("any", None, {1: False, 2: False, 3: False}, "rejected"),
        ("n_of_m", 2, {1: True, 2: False}, None),
        ("n_of_m", 2, {1: True, 2: False, 3: True}, "approved"),
        ("n_of_m", 2, {1: False, 2: False}, "rejected"),
        ("n_of_m", 5, {1: True, 2: True, 3: True}, "approved"),  # never more than there are
    ],
)
def test_step_outcome(rule: str, required: int | None, said: dict[int, bool], outcome: str | None) -> None:
    decisions = [Decision(user, yes) for user, yes in said.items()]
    assert step_outcome(_step(rule, required), PEOPLE, decisions) == outcome


def test_a_decision_by_someone_not_asked_counts_for_nothing() -> None:
    assert step_outcome(_step("any"), PEOPLE, [Decision(9, True)]) is None


def test_a_definition_is_normalized_and_its_faults_are_named() -> None:
    step = {"name": " Boss ", "approvers": {"kind": "users", "user_ids": [3, 1, 3]}}
    assert checked_definition({"steps": [step]})["steps"][0] == {
        "name": "Boss",
        "rule": "all",
        "approvers": {"kind": "users", "user_ids": [1, 3]},
        "escalate_to": [],
    }
    with pytest.raises(ValidationFailed) as refused:
        checked_definition({"steps": [{**step, "deadline_hours": 0}]})
    assert refused.value.errors[0]["loc"] == ["body", "steps", 0, "deadline_hours"]
