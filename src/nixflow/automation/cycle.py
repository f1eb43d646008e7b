"""What a rule does in a cycle: the one decision the engine and the simulation share. Pure.

A cycle is one request's unit of work and what it causes (its correlation id). Within it each rule fires at
most once per ticket; rules run in position order against the ticket as the earlier rules left it; the pass
over the rules repeats only while the previous pass changed something, at most `MAX_PASSES` times. So the
work of a cycle is bounded by rules x passes, whatever the rules say.

A rule reacts to a change only when the change touches something the rule reads: a condition's field, and
the category for a round-robin assignment (it picks within the category). The creation of a ticket touches
everything; an edit of the title touches `title` and `text`; a priority change only `priority`. So a keyword
rule reacts to the text it reads being created or changed, not to every update. And a rule reacting to a
change never changes the fields that change set (`protected`): a person's explicit change is never reverted
by a rule reacting to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from nixflow.domain import conditions

MAX_PASSES = 3
ANYTHING = "*"  # what a ticket's creation changed: every field at once
EVERYTHING = frozenset({ANYTHING})

# The events that change a ticket field a rule can read (besides `ticket.updated`, which says which).
_FIELD_OF_EVENT = {
    "ticket.priority_changed": "priority",
    "ticket.status_changed": "status",
    "ticket.category_changed": "category_id",
    "ticket.assigned": "assignee_id",
    "ticket.escalated": "escalation_level",
    "ticket.commented": "comments",
    "ticket.approved": "approval",
    "ticket.rejected": "approval",
    "ticket.tagged": "tag",
    "ticket.untagged": "tag",
    "ticket.fields_changed": "custom",
}
# The ticket field each action sets.
ACTION_FIELD = {
    "set_priority": "priority",
    "assign": "assignee_id",
    "assign_round_robin": "assignee_id",
    "escalate": "escalation_level",
    "add_tag": "tag",
    "remove_tag": "tag",
    "set_category": "category_id",
    "set_status": "status",
    "set_field": "custom",
}
# What an action reads besides the conditions: a round-robin picks among the category's agents.
_ACTION_READS = {"assign_round_robin": "category_id"}


def changed_by(event_type: str, data: Mapping[str, Any]) -> frozenset[str]:
    """The fields a ticket event changed, as conditions name them (`EVERYTHING` for a new ticket)."""
    if event_type == "ticket.created":
        return EVERYTHING
    if event_type == "ticket.updated":
        fields = set(data.get("changes") or ())
        return frozenset(fields | {"text"}) if fields & {"title", "description"} else frozenset(fields)
    field = _FIELD_OF_EVENT.get(event_type)
    return frozenset() if field is None else frozenset({field})


def protected_by(event_type: str, data: Mapping[str, Any]) -> frozenset[str]:
    """The fields rules reacting to this event leave alone: what it changed (a new ticket: none)."""
    return frozenset() if event_type == "ticket.created" else changed_by(event_type, data)


def reads(rule: Mapping[str, Any]) -> frozenset[str]:
    """What a rule looks at: its conditions' fields, and what its actions depend on."""
    conds = rule["conditions"]
    fields = {c["field"] for c in (*(conds.get("all") or ()), *(conds.get("any") or ()))}
    fields |= {_ACTION_READS[a["type"]] for a in rule["actions"] if a["type"] in _ACTION_READS}
    return frozenset(fields)


def reacts(rule: Mapping[str, Any], changed: frozenset[str]) -> bool:
    """Whether a change of `changed` concerns the rule (a rule without conditions: only a new ticket)."""
    return ANYTHING in changed or not changed.isdisjoint(reads(rule))


def pending_actions(rule: Mapping[str, Any], ticket: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rule's actions that would change something on this ticket."""
    out = []
    for action in rule["actions"]:
        kind = action["type"]
        if (
            (kind == "set_priority" and ticket["priority"] == action["value"])
            or (kind == "assign" and ticket["assignee_id"] == action["user_id"])
            or (kind == "assign_round_robin" and ticket["assignee_id"] is not None)
            or (kind == "escalate" and ticket["escalation_level"] >= action["level"])
            or (kind == "add_tag" and action["value"] in ticket["tags"])
            or (kind == "remove_tag" and action["value"] not in ticket["tags"])
            or (kind == "set_category" and ticket["category_id"] == action["category_id"])
            or (kind == "set_status" and ticket["status"] == action["value"])
            or (kind == "set_field" and (ticket["fields"] or {}).get(action["key"]) == action.get("value"))
        ):
            continue
        out.append(dict(action))
    return out


def decide(
    rule: Mapping[str, Any],
    ticket: Mapping[str, Any],
    now: datetime,
    *,
    changed: frozenset[str],
    protected: frozenset[str],
) -> list[dict[str, Any]] | None:
    """The actions `rule` takes on `ticket` in a cycle that has changed `changed` so far.

    None: it was not evaluated (the change does not concern it). An empty list: evaluated, nothing to do
    (its conditions do not hold, or everything it would set is already so or was just set by the change).
    """
    if not reacts(rule, changed):
        return None
    if not conditions.matches(rule["conditions"], conditions.facts_of(ticket, now)):
        return []
    kept = [a for a in pending_actions(rule, ticket) if ACTION_FIELD.get(a["type"]) not in protected]
    # A macro sets fields only it knows: it is told which to leave alone (`macros.apply_macro`'s `leave`).
    return [{**a, "leave": sorted(protected)} if a["type"] == "apply_macro" and protected else a for a in kept]
