"""The decision the engine and the simulation share: what a rule reacts to, and what a person's change protects."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.unit.test_rules_conditions import ticket

from nixflow.automation import cycle

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
OUTAGE = {
    "conditions": {
        "all": [{"field": "priority", "op": "not_equals", "value": "critical"}],
        "any": [{"field": "text", "op": "contains_word", "value": ["outage", "down"]}],
    },
    "actions": [{"type": "set_priority", "value": "critical"}],
}
KEYWORD_ONLY = {
    "conditions": {"any": [{"field": "text", "op": "contains_word", "value": "down"}]},
    "actions": [{"type": "set_priority", "value": "critical"}, {"type": "notify", "role": "admin"}],
}
ROUND_ROBIN = {"conditions": {}, "actions": [{"type": "assign_round_robin"}]}
ALWAYS_LOW = {"conditions": {}, "actions": [{"type": "set_priority", "value": "low"}]}


def _changed(event_type: str, **data: Any) -> frozenset[str]:
    return cycle.changed_by(event_type, data)


def test_what_each_event_changed() -> None:
    assert _changed("ticket.created") == cycle.EVERYTHING
    assert _changed("ticket.updated", changes={"title": {}}) == {"title", "text"}
    assert _changed("ticket.priority_changed") == {"priority"}
    assert _changed("ticket.commented") == {"comments"}
    assert _changed("ticket.watcher_added") == frozenset()
    assert cycle.protected_by("ticket.created", {}) == frozenset()
    assert cycle.protected_by("ticket.priority_changed", {}) == {"priority"}


def test_a_keyword_rule_reacts_to_its_text_being_created_or_changed_only() -> None:
    assert cycle.reads(KEYWORD_ONLY) == {"text"}
    assert cycle.reacts(KEYWORD_ONLY, _changed("ticket.created"))
    assert cycle.reacts(KEYWORD_ONLY, _changed("ticket.updated", changes={"description": {}}))
    for other in ("ticket.priority_changed", "ticket.status_changed", "ticket.commented"):
        assert not cycle.reacts(KEYWORD_ONLY, _changed(other))


def test_rules_without_conditions_react_to_a_new_ticket_and_round_robin_to_its_category() -> None:
    assert cycle.reacts(ALWAYS_LOW, cycle.EVERYTHING)
    assert not cycle.reacts(ALWAYS_LOW, _changed("ticket.priority_changed"))
    assert cycle.reacts(ROUND_ROBIN, _changed("ticket.category_changed"))


def test_a_rule_reacting_to_a_persons_change_leaves_that_field_alone() -> None:
    normal = ticket(priority="normal")
    person = _changed("ticket.priority_changed")
    # The outage rule reads the priority, so it reacts, but may not undo what the person just set.
    assert cycle.decide(OUTAGE, normal, NOW, changed=person, protected=person) == []
    # The same rule on new text may: nothing protects the priority then.
    text = _changed("ticket.updated", changes={"title": {}})
    critical = [{"type": "set_priority", "value": "critical"}]
    assert cycle.decide(OUTAGE, normal, NOW, changed=text, protected=text) == critical
    # A protected field drops only the actions that set it.
    assert cycle.decide(KEYWORD_ONLY, normal, NOW, changed=cycle.EVERYTHING, protected=frozenset({"priority"})) == [
        {"type": "notify", "role": "admin"}
    ]


def test_decide_says_not_evaluated_apart_from_nothing_to_do() -> None:
    calm = ticket(title="Printer jam")
    assert (
        cycle.decide(KEYWORD_ONLY, calm, NOW, changed=_changed("ticket.status_changed"), protected=frozenset()) is None
    )
    assert cycle.decide(KEYWORD_ONLY, calm, NOW, changed=cycle.EVERYTHING, protected=frozenset()) == []
    done = ticket(priority="critical")
    assert cycle.decide(OUTAGE, done, NOW, changed=cycle.EVERYTHING, protected=frozenset()) == []
