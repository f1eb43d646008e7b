"""What a rule can say, for the rule builder: read from the tables the validator checks rules against. Pure.

`domain/rules.py` decides what is valid (`FIELDS`, `OPS_BY_FIELD`, `FIELD_GROUP`, `OP_GROUP`, `ACTION_PARAMS`);
this only describes it (types, labels, where a value's choices come from), so the builder offers exactly what
the validator accepts. A field, operator or action added there without a description here fails a lookup below,
and `tests/unit/test_rule_vocabulary.py` holds the two together.
"""

from __future__ import annotations

from typing import Any

from nixflow.domain.rules import (
    ACTION_NEEDS,
    ACTION_PARAMS,
    ACTIONS,
    CHANNELS,
    ENUM_FIELDS,
    FIELD_GROUP,
    FIELDS,
    NOTIFY_ROLES,
    OP_GROUP,
    OPS,
    OPS_BY_FIELD,
)

# A value's type: `text`, `enum` (one of `values`), `id` (of a `choices` list; requester ids are typed),
# `number`, `integer`, `tag`, `template`, `custom` (a custom field's, by its definition), `field_key`.
_FIELD_TYPE = {
    "text": "text",
    "priority": "enum",
    "status": "enum",
    "id": "id",
    "time": "number",
    "tag": "tag",
    "address": "text",
    "channel": "enum",
    "custom": "custom",
}
_FIELD_LABELS = {
    "title": "Title",
    "description": "Description",
    "text": "Title or description",
    "priority": "Priority",
    "status": "Status",
    "category_id": "Category",
    "requester_id": "Requester (user id)",
    "assignee_id": "Assignee",
    "organization_id": "Organization",
    "minutes_open": "Minutes open",
    "minutes_unassigned": "Minutes unassigned",
    "minutes_since_update": "Minutes since last update",
    "tag": "Tag",
    "sender": "Sender address",
    "sender_domain": "Sender domain",
    "channel": "Channel",
    "custom": "Custom field",
}
# The lists of the choices the server sends beside the vocabulary (`automation/vocabulary.py`).
_ID_CHOICES = {"category_id": "categories", "assignee_id": "agents", "organization_id": "organizations"}
# How an operator's value is given: `words` (a string or a list of them), `one`, `list`, `number`, `flag`.
_OP_VALUE = {"match": "words", "equals": "one", "in": "list", "compare": "number", "is_null": "flag"}
_OP_LABELS = {
    "contains_word": "contains the word",
    "contains": "contains",
    "equals": "is",
    "not_equals": "is not",
    "in": "is any of",
    "not_in": "is none of",
    "gte": "is at least",
    "lte": "is at most",
    "is_null": "is empty",
}
_TAG_OP_LABELS = {"equals": "has", "not_equals": "has not", "in": "has any of", "not_in": "has none of"}
_ACTION_LABELS = {
    "set_priority": "Set priority",
    "assign_round_robin": "Assign round-robin in the category",
    "assign": "Assign to",
    "escalate": "Escalate",
    "notify": "Notify",
    "add_tag": "Add tag",
    "remove_tag": "Remove tag",
    "set_category": "Set category",
    "set_status": "Set status",
    "send_reply": "Send a reply",
    "apply_macro": "Apply macro",
    "set_field": "Set custom field",
    "start_workflow": "Start approval workflow",
}
_PRIORITIES = ENUM_FIELDS["priority"]
_STATUSES = ENUM_FIELDS["status"]
_PARAMS: dict[tuple[str, str], dict[str, Any]] = {
    ("set_priority", "value"): {"type": "enum", "values": list(_PRIORITIES), "label": "Priority"},
    ("assign", "user_id"): {"type": "id", "choices": "agents", "label": "Agent"},
    ("escalate", "level"): {"type": "integer", "minimum": 1, "maximum": 10, "label": "Level"},
    ("notify", "role"): {"type": "enum", "values": list(NOTIFY_ROLES), "label": "Role"},
    ("notify", "user_id"): {"type": "id", "choices": "agents", "label": "Person"},
    ("add_tag", "value"): {"type": "tag", "label": "Tag"},
    ("remove_tag", "value"): {"type": "tag", "label": "Tag"},
    ("set_category", "category_id"): {"type": "id", "choices": "categories", "label": "Category"},
    ("set_status", "value"): {"type": "enum", "values": list(_STATUSES), "label": "Status"},
    ("send_reply", "text"): {"type": "template", "label": "Reply"},
    ("apply_macro", "macro_id"): {"type": "id", "choices": "macros", "label": "Macro"},
    ("set_field", "key"): {"type": "field_key", "choices": "fields", "label": "Field"},
    ("set_field", "value"): {"type": "custom", "label": "Value"},
    ("start_workflow", "workflow_id"): {"type": "id", "choices": "workflows", "label": "Workflow"},
}


def _values(field: str) -> list[str] | None:
    if field in ENUM_FIELDS:
        return list(ENUM_FIELDS[field])
    return list(CHANNELS) if FIELD_GROUP[field] == "channel" else None


def _operator(field: str, op: str) -> dict[str, Any]:
    labels = _TAG_OP_LABELS if field == "tag" else {}
    shape = "number" if FIELD_GROUP[field] == "time" else _OP_VALUE[OP_GROUP[op]]
    return {"name": op, "label": labels.get(op, _OP_LABELS[op]), "value": shape}


def _field(field: str) -> dict[str, Any]:
    return {
        "name": field,
        "label": _FIELD_LABELS[field],
        "type": _FIELD_TYPE[FIELD_GROUP[field]],
        "values": _values(field),
        "choices": _ID_CHOICES.get(field),
        "keyed": field == "custom",  # names a custom field by `key`
        "operators": [_operator(field, op) for op in OPS if op in OPS_BY_FIELD[field]],
    }


def _action(kind: str) -> dict[str, Any]:
    params = [
        {"name": name, "required": ACTION_NEEDS.get(kind) == name, **_PARAMS[kind, name]}
        for name in ACTION_PARAMS[kind]
    ]
    return {"type": kind, "label": _ACTION_LABELS[kind], "params": params, "one_of": kind == "notify"}


def vocabulary() -> dict[str, Any]:
    """Condition fields (type, operators, where values come from) and action kinds (their parameters)."""
    return {
        "groups": ["all", "any"],
        "fields": [_field(f) for f in FIELDS],
        "actions": [_action(kind) for kind in ACTIONS],
    }
