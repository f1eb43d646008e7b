"""Rules as data (format v1): the typed models that validate them. Pure: no I/O."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from annotated_types import Interval
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    StrictBool,
    StrictStr,
    StringConstraints,
    Tag,
    model_validator,
)

from nixflow.domain.fields import KEY_PATTERN, MAX_TEXT
from nixflow.domain.json_types import NOT_BLANK, Id, Number, Percent, Position, integral, is_integer, not_blank
from nixflow.domain.tags import INPUT_PATTERN, parse
from nixflow.domain.tickets import Status
from nixflow.domain.values import Priority

Kind = Literal["prioritization", "assignment", "escalation"]
FieldKey = Annotated[str, StringConstraints(strict=True, pattern=KEY_PATTERN)]
Mode = Literal["enforce", "shadow"]

TEXT_FIELDS = ("title", "description", "text")
ENUM_FIELDS: dict[str, tuple[str, ...]] = {
    "priority": tuple(p.value for p in Priority),
    "status": tuple(s.value for s in Status),
}
ID_FIELDS = ("category_id", "requester_id", "assignee_id", "organization_id")  # organization: the ticket's
TIME_FIELDS = ("minutes_open", "minutes_unassigned", "minutes_since_update")
TAG_FIELD = "tag"  # equals: the ticket has the tag; in: any of them; not_equals / not_in: it has none of them
# The requester's address (exact) and its domain, compared in lower case; where the ticket came from.
ADDRESS_FIELDS = ("sender", "sender_domain")
CHANNEL_FIELD = "channel"
CHANNELS = ("web", "mail", "api")
CUSTOM_FIELD = "custom"  # a custom field, named by `key`: equals / in (a multi select: has the option), is_null
FIELDS = (*TEXT_FIELDS, *ENUM_FIELDS, *ID_FIELDS, *TIME_FIELDS, TAG_FIELD, *ADDRESS_FIELDS, CHANNEL_FIELD, CUSTOM_FIELD)
OPS = ("contains_word", "contains", "equals", "not_equals", "in", "not_in", "gte", "lte", "is_null")
ACTIONS = (
    "set_priority",
    "assign_round_robin",
    "assign",
    "escalate",
    "notify",
    "add_tag",
    "remove_tag",
    "set_category",
    "set_status",
    "send_reply",
    "apply_macro",
    "set_field",
    "start_workflow",
)
NOTIFY_ROLES = ("admin", "agent", "requester", "assignee")
# What each action takes besides its `type`, and which of those it needs (`notify`: a role or a user, one at least).
ACTION_PARAMS: dict[str, tuple[str, ...]] = {
    "set_priority": ("value",),
    "assign_round_robin": (),
    "assign": ("user_id",),
    "escalate": ("level",),
    "notify": ("role", "user_id"),
    "add_tag": ("value",),
    "remove_tag": ("value",),
    "set_category": ("category_id",),
    "set_status": ("value",),
    "send_reply": ("text",),
    "apply_macro": ("macro_id",),
    "set_field": ("key", "value"),  # no value: the rule clears the field
    "start_workflow": ("workflow_id",),
}
ACTION_NEEDS: dict[str, str] = {k: params[0] for k, params in ACTION_PARAMS.items() if params and k != "notify"}

OPS_BY_FIELD: dict[str, frozenset[str]] = {
    **{f: frozenset({"contains_word", "contains", "equals", "not_equals", "in", "not_in"}) for f in TEXT_FIELDS},
    **{f: frozenset({"equals", "not_equals", "in", "not_in"}) for f in ENUM_FIELDS},
    **{f: frozenset({"equals", "not_equals", "in", "not_in", "gte", "lte", "is_null"}) for f in ID_FIELDS},
    **{f: frozenset({"equals", "not_equals", "gte", "lte"}) for f in TIME_FIELDS},
    TAG_FIELD: frozenset({"equals", "not_equals", "in", "not_in"}),
    **{f: frozenset({"equals", "not_equals", "in", "not_in"}) for f in (*ADDRESS_FIELDS, CHANNEL_FIELD)},
    CUSTOM_FIELD: frozenset({"equals", "not_equals", "in", "not_in", "is_null"}),
}


class _Strict(BaseModel):
    # Patterns are checked with Python's `re`, the engine schema-driven clients generate from.
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")


def _is_tag(value: Any) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True


def _scalar_ok(field: str, value: Any) -> bool:
    if field == TAG_FIELD:
        return _is_tag(value)
    if field in ADDRESS_FIELDS:
        return isinstance(value, str) and not_blank(value)
    if field == CHANNEL_FIELD:
        return value in CHANNELS
    if field == CUSTOM_FIELD:
        return isinstance(value, str | bool) or _is_number(value)
    if field in TEXT_FIELDS:
        return isinstance(value, str)
    if field in ENUM_FIELDS:
        return value in ENUM_FIELDS[field]
    if field in ID_FIELDS:
        return value is None or is_integer(value)
    return _is_number(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _expected(field: str) -> str:
    if field in ENUM_FIELDS:
        return "one of " + ", ".join(ENUM_FIELDS[field])
    if field in TEXT_FIELDS:
        return "a string"
    if field == TAG_FIELD:
        return "a tag"
    if field in ADDRESS_FIELDS:
        return "a non-empty string"
    if field == CHANNEL_FIELD:
        return "one of " + ", ".join(CHANNELS)
    if field == CUSTOM_FIELD:
        return "a string, number or boolean"
    return "an integer" if field in ID_FIELDS else "a number"


def _check_condition(raw: Any) -> Any:
    """Name what is wrong with a condition before its variant is chosen (the contract's 422 messages)."""
    if not isinstance(raw, dict):
        return raw
    field, op, value = raw.get("field"), raw.get("op"), raw.get("value")
    if field not in FIELDS:
        raise ValueError(f"unknown field '{field}' (known: {', '.join(FIELDS)})")
    if op not in OPS:
        raise ValueError(f"unknown operator '{op}' (known: {', '.join(OPS)})")
    if op not in OPS_BY_FIELD[field]:
        raise ValueError(f"operator '{op}' does not apply to field '{field}'")
    if field == CUSTOM_FIELD and not (isinstance(raw.get("key"), str) and re.match(KEY_PATTERN, raw["key"])):
        raise ValueError("a 'custom' condition names the field's 'key'")
    if op == "is_null":
        if value is not None and not isinstance(value, bool):
            raise ValueError("value of 'is_null' must be true or false")
    elif op == "contains_word" or op == "contains":
        words = value if isinstance(value, list) else [value]
        if not words or not all(isinstance(w, str) and not_blank(w) for w in words):
            raise ValueError(f"value of '{op}' must be a non-empty string or a list of them")
    elif op in ("in", "not_in"):
        if not isinstance(value, list) or not all(_scalar_ok(field, v) for v in value):
            raise ValueError(f"value of '{op}' on '{field}' must be a list, each {_expected(field)}")
    elif op in ("gte", "lte"):
        if not _is_number(value):
            raise ValueError(f"value of '{op}' must be a number")
    elif not _scalar_ok(field, value):
        raise ValueError(f"value of '{op}' on '{field}' must be {_expected(field)}")
    return raw


FIELD_GROUP = {
    **dict.fromkeys(TEXT_FIELDS, "text"),
    "priority": "priority",
    "status": "status",
    **dict.fromkeys(ID_FIELDS, "id"),
    **dict.fromkeys(TIME_FIELDS, "time"),
    TAG_FIELD: "tag",
    **dict.fromkeys(ADDRESS_FIELDS, "address"),
    CHANNEL_FIELD: "channel",
    CUSTOM_FIELD: "custom",
}
OP_GROUP = {
    "contains_word": "match",
    "contains": "match",
    "equals": "equals",
    "not_equals": "equals",
    "in": "in",
    "not_in": "in",
    "gte": "compare",
    "lte": "compare",
    "is_null": "is_null",
}


def _condition_tag(value: Any) -> str | None:
    field, op = (value.get("field"), value.get("op")) if isinstance(value, dict) else (None, None)
    if isinstance(value, BaseModel):
        field, op = getattr(value, "field", None), getattr(value, "op", None)
    if field not in FIELD_GROUP or op not in OP_GROUP:
        return None
    group = FIELD_GROUP[field]
    return f"{group}:{'compare' if group == 'time' else OP_GROUP[op]}"


TextField = Literal["title", "description", "text"]
IdField = Literal["category_id", "requester_id", "assignee_id", "organization_id"]
TimeField = Literal["minutes_open", "minutes_unassigned", "minutes_since_update"]
Equals = Literal["equals", "not_equals"]
In = Literal["in", "not_in"]
Compare = Literal["gte", "lte"]
Word = Annotated[str, StringConstraints(strict=True, pattern=NOT_BLANK)]
StatusName = Literal["new", "open", "pending", "resolved", "closed"]
PriorityName = Literal["low", "normal", "high", "critical"]


class TextMatch(_Strict):
    """Whole words (`contains_word`, case-insensitive) or substrings (`contains`) in a text field."""

    field: TextField
    op: Literal["contains_word", "contains"]
    value: Word | Annotated[list[Word], Field(min_length=1)]


class TextEquals(_Strict):
    field: TextField
    op: Equals
    value: StrictStr


class TextIn(_Strict):
    field: TextField
    op: In
    value: list[StrictStr]


class PriorityEquals(_Strict):
    field: Literal["priority"]
    op: Equals
    value: PriorityName


class PriorityIn(_Strict):
    field: Literal["priority"]
    op: In
    value: list[PriorityName]


class StatusEquals(_Strict):
    field: Literal["status"]
    op: Equals
    value: StatusName


class StatusIn(_Strict):
    field: Literal["status"]
    op: In
    value: list[StatusName]


class IdEquals(_Strict):
    """`null` matches a ticket without one."""

    field: IdField
    op: Equals
    value: Id | None = None


class IdIn(_Strict):
    field: IdField
    op: In
    value: list[Id | None]


class IdCompare(_Strict):
    field: IdField
    op: Compare
    value: Number


class IdIsNull(_Strict):
    """`value` true (the default): the ticket has none; false: it has one."""

    field: IdField
    op: Literal["is_null"]
    value: StrictBool | None = None

    @model_validator(mode="after")
    def _default_true(self) -> IdIsNull:
        if self.value is None:
            self.value = True
        return self


# Checked as the schema's pattern says, then stored normalised (trimmed, lower case).
TagName = Annotated[str, StringConstraints(strict=True, pattern=INPUT_PATTERN), AfterValidator(parse)]


class TagEquals(_Strict):
    """`equals`: the ticket has the tag; `not_equals`: it has not."""

    field: Literal["tag"]
    op: Equals
    value: TagName


class TagIn(_Strict):
    """`in`: the ticket has any of the tags; `not_in`: none of them."""

    field: Literal["tag"]
    op: In
    value: list[TagName]


CustomValue = StrictBool | Number | Annotated[str, StringConstraints(strict=True, max_length=MAX_TEXT)]


class CustomEquals(_Strict):
    """A custom field has the value (a multi select: has the option); `not_equals`: it has not."""

    field: Literal["custom"]
    key: FieldKey
    op: Equals
    value: CustomValue


class CustomIn(_Strict):
    field: Literal["custom"]
    key: FieldKey
    op: In
    value: list[CustomValue]


class CustomIsNull(_Strict):
    """`value` true (the default): the field is not set; false: it is set."""

    field: Literal["custom"]
    key: FieldKey
    op: Literal["is_null"]
    value: StrictBool = True


class TimeCompare(_Strict):
    """Minutes (escalation rules)."""

    field: TimeField
    op: Literal["equals", "not_equals", "gte", "lte"]
    value: Number


def _lower(value: str) -> str:
    return value.strip().lower()


# An address or a domain, compared in lower case (stored so).
Address = Annotated[str, StringConstraints(strict=True, pattern=NOT_BLANK), AfterValidator(_lower)]
AddressField = Literal["sender", "sender_domain"]
ChannelName = Literal["web", "mail", "api"]


class AddressEquals(_Strict):
    """`sender`: the requester's address is this one; `sender_domain`: its domain (`acme.example`)."""

    field: AddressField
    op: Equals
    value: Address


class AddressIn(_Strict):
    field: AddressField
    op: In
    value: list[Address]


class ChannelEquals(_Strict):
    """Where the ticket was opened: `web` (the web UI), `mail` or `api` (a token)."""

    field: Literal["channel"]
    op: Equals
    value: ChannelName


class ChannelIn(_Strict):
    field: Literal["channel"]
    op: In
    value: list[ChannelName]


Condition = Annotated[
    Annotated[TextMatch, Tag("text:match")]
    | Annotated[TextEquals, Tag("text:equals")]
    | Annotated[TextIn, Tag("text:in")]
    | Annotated[PriorityEquals, Tag("priority:equals")]
    | Annotated[PriorityIn, Tag("priority:in")]
    | Annotated[StatusEquals, Tag("status:equals")]
    | Annotated[StatusIn, Tag("status:in")]
    | Annotated[IdEquals, Tag("id:equals")]
    | Annotated[IdIn, Tag("id:in")]
    | Annotated[IdCompare, Tag("id:compare")]
    | Annotated[IdIsNull, Tag("id:is_null")]
    | Annotated[TimeCompare, Tag("time:compare")]
    | Annotated[TagEquals, Tag("tag:equals")]
    | Annotated[TagIn, Tag("tag:in")]
    | Annotated[AddressEquals, Tag("address:equals")]
    | Annotated[AddressIn, Tag("address:in")]
    | Annotated[ChannelEquals, Tag("channel:equals")]
    | Annotated[ChannelIn, Tag("channel:in")]
    | Annotated[CustomEquals, Tag("custom:equals")]
    | Annotated[CustomIn, Tag("custom:in")]
    | Annotated[CustomIsNull, Tag("custom:is_null")],
    Discriminator(_condition_tag),
    BeforeValidator(_check_condition),
]
"""`{"field": F, "op": OP, "value": V}`: one variant per field kind and operator, so the schema says which
operators each field takes and what value each needs."""


class Conditions(_Strict):
    """`{"all": [...], "any": [...]}`; both optional, none = always."""

    all: list[Condition] | None = None
    any: list[Condition] | None = None


def _check_action(raw: Any) -> Any:
    """Name what is wrong with an action before its variant is chosen (the contract's 422 messages)."""
    if not isinstance(raw, dict):
        return raw
    kind = raw.get("type")
    if kind not in ACTIONS:
        raise ValueError(f"unknown action '{kind}' (known: {', '.join(ACTIONS)})")
    given = {k for k in {p for params in ACTION_PARAMS.values() for p in params} if raw.get(k) is not None}
    allowed = set(ACTION_PARAMS[kind])
    if kind == "notify":
        if not given & {"role", "user_id"}:
            raise ValueError("action 'notify' needs 'role' or 'user_id'")
        if raw.get("role") is not None and raw["role"] not in NOTIFY_ROLES:
            raise ValueError(f"action 'notify': unknown role '{raw['role']}' (known: {', '.join(NOTIFY_ROLES)})")
    elif kind in ACTION_NEEDS and ACTION_NEEDS[kind] not in given:
        raise ValueError(f"action '{kind}' needs '{ACTION_NEEDS[kind]}'")
    level: Any = raw.get("level")
    if kind == "escalate" and is_integer(level) and not 1 <= level <= 10:
        raise ValueError("action 'escalate': level must be between 1 and 10")
    stray = sorted(given - allowed)
    if stray:
        raise ValueError(f"action '{kind}' takes no '{stray[0]}'")
    return raw


class SetPriority(_Strict):
    type: Literal["set_priority"]
    value: PriorityName


class AssignRoundRobin(_Strict):
    """The next eligible agent of the ticket's category."""

    type: Literal["assign_round_robin"]


class Assign(_Strict):
    type: Literal["assign"]
    user_id: Id


class Escalate(_Strict):
    """Raise the escalation level (once per ticket and level)."""

    type: Literal["escalate"]
    level: Annotated[int, Strict(), Interval(ge=1, le=10), BeforeValidator(integral)]


NotifyRole = Literal["admin", "agent", "requester", "assignee"]


class Notify(_Strict):
    """Notify everyone of a role, or one user: at least one of the two."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["role"], "properties": {"role": {"type": "string"}}},
                {"required": ["user_id"], "properties": {"user_id": {"type": "integer"}}},
            ]
        }
    )

    type: Literal["notify"]
    role: NotifyRole | None = None
    user_id: Id | None = None


class AddTag(_Strict):
    """Put a tag on the ticket (on the admins' allow list, when there is one: else the rule fails)."""

    type: Literal["add_tag"]
    value: TagName


class RemoveTag(_Strict):
    type: Literal["remove_tag"]
    value: TagName


class SetCategory(_Strict):
    """Put the ticket in a category (a following `assign_round_robin` picks among its agents)."""

    type: Literal["set_category"]
    category_id: Id


class SetStatus(_Strict):
    """Move the ticket to a status (a move the ticket cannot make fails the rule)."""

    type: Literal["set_status"]
    value: StatusName


class SendReply(_Strict):
    """A public reply to the requester, by the system: a comment that goes out as mail like any other. The text
    is a template like a canned reply's (`{{ requester.name }}`...), checked when the rule is saved."""

    type: Literal["send_reply"]
    text: Annotated[str, StringConstraints(strict=True, pattern=NOT_BLANK, max_length=20_000)]


class ApplyMacro(_Strict):
    """Apply a shared macro (its reply by the system, its field, tag and status changes), as an agent would."""

    type: Literal["apply_macro"]
    macro_id: Id


class SetField(_Strict):
    """Set a custom field (null clears it); a value its definition refuses makes the rule fail, naming it."""

    type: Literal["set_field"]
    key: FieldKey
    value: CustomValue | list[Annotated[str, StringConstraints(strict=True, max_length=MAX_TEXT)]] | None = None


class StartWorkflow(_Strict):
    """Start an approval workflow on the ticket (nothing, while it already runs one)."""

    type: Literal["start_workflow"]
    workflow_id: Id


Action = Annotated[
    SetPriority
    | AssignRoundRobin
    | Assign
    | Escalate
    | Notify
    | AddTag
    | RemoveTag
    | SetCategory
    | SetStatus
    | SendReply
    | ApplyMacro
    | SetField
    | StartWorkflow,
    Field(discriminator="type"),
    BeforeValidator(_check_action),
]
"""One action: set_priority, assign_round_robin, assign, escalate, notify, add_tag, remove_tag, set_category,
set_status, send_reply, apply_macro, set_field or start_workflow (the schema says which arguments each takes)."""


def _check_kind(kind: str, actions: list[Action]) -> None:
    if kind == "escalation" and not any(a.type == "escalate" for a in actions):
        raise ValueError("an escalation rule needs an 'escalate' action (its level fires once per ticket)")


_ESCALATE_IN_ACTIONS: dict[str, Any] = {
    "contains": {"type": "object", "properties": {"type": {"const": "escalate"}}, "required": ["type"]}
}
# JSON Schema for `_check_kind`: a body that makes a rule an escalation rule gives it an `escalate` action.
_ESCALATION_NEEDS_ESCALATE: dict[str, Any] = {
    "if": {"properties": {"kind": {"const": "escalation"}}, "required": ["kind", "actions"]},
    "then": {"properties": {"actions": _ESCALATE_IN_ACTIONS}},
}


class RuleCreate(_Strict):
    """A new rule."""

    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"kind": {"const": "escalation"}}, "required": ["kind"]},
            "then": {"properties": {"actions": _ESCALATE_IN_ACTIONS}},
            "examples": [
                {
                    "name": "printer is low",
                    "kind": "prioritization",
                    "conditions": {"any": [{"field": "text", "op": "contains_word", "value": ["printer", "toner"]}]},
                    "actions": [{"type": "set_priority", "value": "low"}],
                }
            ],
        }
    )

    name: str = Field(min_length=1, max_length=200)
    kind: Kind
    active: StrictBool = True
    position: Position | None = None
    mode: Mode = "enforce"
    rollout_percent: Percent = 100
    conditions: Conditions = Field(default_factory=Conditions)
    actions: list[Action] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _kind_fits(self) -> RuleCreate:
        _check_kind(self.kind, self.actions)
        return self


class RuleUpdate(_Strict):
    """A partial change to a rule; the result is validated as a whole (409 if it no longer fits together)."""

    model_config = ConfigDict(json_schema_extra=_ESCALATION_NEEDS_ESCALATE)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: Kind | None = None
    active: StrictBool | None = None
    position: Position | None = None
    mode: Mode | None = None
    rollout_percent: Percent | None = None
    conditions: Conditions | None = None
    actions: list[Action] | None = Field(default=None, min_length=1, max_length=20)

    @model_validator(mode="after")
    def _kind_fits(self) -> RuleUpdate:
        if self.kind is not None and self.actions is not None:
            _check_kind(self.kind, self.actions)
        return self


def conditions_json(conditions: Conditions) -> dict[str, Any]:
    """The stored form of conditions."""
    return conditions.model_dump(mode="json", exclude_none=True)


def actions_json(actions: list[Action]) -> list[dict[str, Any]]:
    """The stored form of actions."""
    return [a.model_dump(mode="json", exclude_none=True) for a in actions]
