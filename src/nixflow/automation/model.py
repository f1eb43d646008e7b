"""Rules as data (format v1): the typed models that validate them. Pure: no I/O."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator, model_validator

from nixflow.domain.tickets import Status
from nixflow.domain.values import Priority

Kind = Literal["prioritization", "assignment", "escalation"]
Mode = Literal["enforce", "shadow"]

TEXT_FIELDS = ("title", "description", "text")
ENUM_FIELDS: dict[str, tuple[str, ...]] = {
    "priority": tuple(p.value for p in Priority),
    "status": tuple(s.value for s in Status),
}
ID_FIELDS = ("category_id", "requester_id", "assignee_id")
TIME_FIELDS = ("minutes_open", "minutes_unassigned", "minutes_since_update")
FIELDS = (*TEXT_FIELDS, *ENUM_FIELDS, *ID_FIELDS, *TIME_FIELDS)
OPS = ("contains_word", "contains", "equals", "not_equals", "in", "not_in", "gte", "lte", "is_null")
ACTIONS = ("set_priority", "assign_round_robin", "assign", "escalate", "notify")
NOTIFY_ROLES = ("admin", "agent", "requester", "assignee")

_OPS_BY_FIELD: dict[str, frozenset[str]] = {
    **{f: frozenset({"contains_word", "contains", "equals", "not_equals", "in", "not_in"}) for f in TEXT_FIELDS},
    **{f: frozenset({"equals", "not_equals", "in", "not_in"}) for f in ENUM_FIELDS},
    **{f: frozenset({"equals", "not_equals", "in", "not_in", "gte", "lte", "is_null"}) for f in ID_FIELDS},
    **{f: frozenset({"equals", "not_equals", "gte", "lte"}) for f in TIME_FIELDS},
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _scalar_ok(field: str, value: Any) -> bool:
    if field in TEXT_FIELDS:
        return isinstance(value, str)
    if field in ENUM_FIELDS:
        return value in ENUM_FIELDS[field]
    if field in ID_FIELDS:
        return value is None or (isinstance(value, int) and not isinstance(value, bool))
    return _is_number(value)


def _expected(field: str) -> str:
    if field in ENUM_FIELDS:
        return "one of " + ", ".join(ENUM_FIELDS[field])
    if field in TEXT_FIELDS:
        return "a string"
    return "an integer" if field in ID_FIELDS else "a number"


class Condition(_Strict):
    """`{"field": F, "op": OP, "value": V}`."""

    field: str
    op: str
    value: Any = None

    @field_validator("field")
    @classmethod
    def _known_field(cls, value: str) -> str:
        if value not in FIELDS:
            raise ValueError(f"unknown field '{value}' (known: {', '.join(FIELDS)})")
        return value

    @field_validator("op")
    @classmethod
    def _known_op(cls, value: str) -> str:
        if value not in OPS:
            raise ValueError(f"unknown operator '{value}' (known: {', '.join(OPS)})")
        return value

    @model_validator(mode="after")
    def _value_fits(self) -> Condition:
        field, op, value = self.field, self.op, self.value
        if op not in _OPS_BY_FIELD[field]:
            raise ValueError(f"operator '{op}' does not apply to field '{field}'")
        if op == "is_null":
            if value is None:
                self.value = True
            elif not isinstance(value, bool):
                raise ValueError("value of 'is_null' must be true or false")
        elif op == "contains_word" or op == "contains":
            words = value if isinstance(value, list) else [value]
            if not words or not all(isinstance(w, str) and w.strip() for w in words):
                raise ValueError(f"value of '{op}' must be a non-empty string or a list of them")
        elif op in ("in", "not_in"):
            if not isinstance(value, list) or not all(_scalar_ok(field, v) for v in value):
                raise ValueError(f"value of '{op}' on '{field}' must be a list, each {_expected(field)}")
        elif op in ("gte", "lte"):
            if not _is_number(value):
                raise ValueError(f"value of '{op}' must be a number")
        elif not _scalar_ok(field, value):
            raise ValueError(f"value of '{op}' on '{field}' must be {_expected(field)}")
        return self


class Conditions(_Strict):
    """`{"all": [...], "any": [...]}`; both optional, none = always."""

    all: list[Condition] | None = None
    any: list[Condition] | None = None


class Action(_Strict):
    """One action: set_priority, assign_round_robin, assign, escalate or notify."""

    type: str
    value: Priority | None = None
    user_id: StrictInt | None = None
    level: StrictInt | None = None
    role: str | None = None

    @field_validator("type")
    @classmethod
    def _known_action(cls, value: str) -> str:
        if value not in ACTIONS:
            raise ValueError(f"unknown action '{value}' (known: {', '.join(ACTIONS)})")
        return value

    @model_validator(mode="after")
    def _arguments(self) -> Action:
        needs = {"set_priority": "value", "assign": "user_id", "escalate": "level", "notify": None}
        required = needs.get(self.type)
        allowed = {required} if required else set()
        if self.type == "notify":
            allowed = {"role", "user_id"}
            if self.role is None and self.user_id is None:
                raise ValueError("action 'notify' needs 'role' or 'user_id'")
            if self.role is not None and self.role not in NOTIFY_ROLES:
                raise ValueError(f"action 'notify': unknown role '{self.role}' (known: {', '.join(NOTIFY_ROLES)})")
        elif required is not None and getattr(self, required) is None:
            raise ValueError(f"action '{self.type}' needs '{required}'")
        if self.type == "escalate" and self.level is not None and not 1 <= self.level <= 10:
            raise ValueError("action 'escalate': level must be between 1 and 10")
        stray = [k for k in ("value", "user_id", "level", "role") if getattr(self, k) is not None and k not in allowed]
        if stray:
            raise ValueError(f"action '{self.type}' takes no '{stray[0]}'")
        return self


def _check_kind(kind: str, actions: list[Action]) -> None:
    if kind == "escalation" and not any(a.type == "escalate" for a in actions):
        raise ValueError("an escalation rule needs an 'escalate' action (its level fires once per ticket)")


class RuleCreate(_Strict):
    """A new rule."""

    name: str = Field(min_length=1, max_length=200)
    kind: Kind
    active: StrictBool = True
    position: StrictInt | None = None
    mode: Mode = "enforce"
    rollout_percent: StrictInt = Field(default=100, ge=0, le=100)
    conditions: Conditions = Field(default_factory=Conditions)
    actions: list[Action] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _kind_fits(self) -> RuleCreate:
        _check_kind(self.kind, self.actions)
        return self


class RuleUpdate(_Strict):
    """A partial change to a rule; the result is validated as a whole."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: Kind | None = None
    active: StrictBool | None = None
    position: StrictInt | None = None
    mode: Mode | None = None
    rollout_percent: StrictInt | None = Field(default=None, ge=0, le=100)
    conditions: Conditions | None = None
    actions: list[Action] | None = Field(default=None, min_length=1, max_length=20)


def conditions_json(conditions: Conditions) -> dict[str, Any]:
    """The stored form of conditions."""
    return conditions.model_dump(mode="json", exclude_none=True)


def actions_json(actions: list[Action]) -> list[dict[str, Any]]:
    """The stored form of actions."""
    return [a.model_dump(mode="json", exclude_none=True) for a in actions]
