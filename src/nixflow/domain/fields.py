"""Custom fields: what an admin may define, and which values a definition takes. Pure, no I/O.

A definition is translated to a small JSON Schema (`json_schema`: type, enum, format date, minimum/maximum,
maxLength) that clients can read, and every value is checked against the same subset here (`check_value`) by
hand: six types need no validator library at run time, a `date` is checked as a real day (JSON Schema leaves
`format` unchecked unless asked), and every error names the field. A value of None clears the field.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from datetime import date
from enum import StrEnum
from typing import Any

from nixflow.domain.errors import ValidationFailed


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    SELECT = "select"
    MULTISELECT = "multiselect"
    CHECKBOX = "checkbox"


class Entity(StrEnum):
    TICKET = "ticket"
    USER = "user"
    ORGANIZATION = "organization"


KEY_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
_KEY = re.compile(KEY_PATTERN)
MAX_TEXT = 500  # the index keeps a text value whole; 500 characters stay under a b-tree entry's limit
MAX_OPTIONS = 100
MAX_OPTION = 100
SELECTS = (FieldType.SELECT, FieldType.MULTISELECT)


@dataclasses.dataclass(frozen=True)
class FieldDefinition:
    """An admin's definition of one field on one kind of entity. `key` never changes once made."""

    key: str
    label: str
    type: FieldType
    entity: Entity = Entity.TICKET
    options: tuple[str, ...] = ()
    required_for_requesters: bool = False
    required_for_agents: bool = False
    requester_visible: bool = False
    position: int = 0
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    archived: bool = False

    def __post_init__(self) -> None:
        _check_definition(self)

    @property
    def limit(self) -> int:
        """The longest text this field takes."""
        return self.max_length or MAX_TEXT


def _bad(key: str, msg: str, *, where: str = "fields") -> ValidationFailed:
    return ValidationFailed(f"field {key!r}: {msg}", errors=[{"loc": ["body", where, key], "msg": msg}])


def _check_definition(d: FieldDefinition) -> None:
    if _KEY.match(d.key) is None:
        raise _bad(d.key, "a key is 1 to 40 lower-case letters, digits or _, starting with a letter", where="key")
    if not d.label.strip() or len(d.label) > 100:
        raise _bad(d.key, "a label is 1 to 100 characters", where="label")
    if d.type in SELECTS:
        if not d.options or len(d.options) > MAX_OPTIONS or len(set(d.options)) != len(d.options):
            raise _bad(d.key, f"a select needs 1 to {MAX_OPTIONS} distinct options", where="options")
        if any(not o.strip() or len(o) > MAX_OPTION for o in d.options):
            raise _bad(d.key, f"an option is 1 to {MAX_OPTION} characters", where="options")
    elif d.options:
        raise _bad(d.key, "only select fields have options", where="options")
    if (d.minimum is not None or d.maximum is not None) and d.type != FieldType.NUMBER:
        raise _bad(d.key, "only number fields have a minimum or maximum", where="minimum")
    if d.minimum is not None and d.maximum is not None and d.minimum > d.maximum:
        raise _bad(d.key, "minimum is above maximum", where="minimum")
    if d.max_length is not None and (d.type != FieldType.TEXT or not 1 <= d.max_length <= MAX_TEXT):
        raise _bad(d.key, f"only text fields have a max_length, 1 to {MAX_TEXT}", where="max_length")
    if d.required_for_requesters and not d.requester_visible:
        raise _bad(d.key, "a field requesters must fill must be visible to them", where="required_for_requesters")


def json_schema(d: FieldDefinition) -> dict[str, Any]:
    """The JSON Schema subset the field's values are checked against (null clears the field)."""
    schema: dict[str, Any]
    if d.type == FieldType.TEXT:
        schema = {"type": "string", "minLength": 1, "maxLength": d.limit}
    elif d.type == FieldType.NUMBER:
        schema = {"type": "number"}
        schema.update({k: v for k, v in (("minimum", d.minimum), ("maximum", d.maximum)) if v is not None})
    elif d.type == FieldType.DATE:
        schema = {"type": "string", "format": "date"}
    elif d.type == FieldType.SELECT:
        schema = {"type": "string", "enum": list(d.options)}
    elif d.type == FieldType.MULTISELECT:
        schema = {"type": "array", "items": {"type": "string", "enum": list(d.options)}, "uniqueItems": True}
    else:
        schema = {"type": "boolean"}
    return {"title": d.label, "anyOf": [schema, {"type": "null"}]}


def check_value(d: FieldDefinition, value: Any) -> Any:
    """`value` as stored for field `d` (None: cleared); ValidationFailed naming the field when `d` does not take it."""
    if value is None:
        return None
    if d.type == FieldType.TEXT:
        if not isinstance(value, str) or not value.strip() or len(value) > d.limit:
            raise _bad(d.key, f"expected text of 1 to {d.limit} characters")
        return value.strip()
    if d.type == FieldType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise _bad(d.key, "expected a number")
        if (d.minimum is not None and value < d.minimum) or (d.maximum is not None and value > d.maximum):
            raise _bad(d.key, f"expected a number from {d.minimum} to {d.maximum}")
        return value
    if d.type == FieldType.DATE:
        return _date(d, value)
    if d.type == FieldType.SELECT:
        if value not in d.options:
            raise _bad(d.key, f"expected one of {', '.join(d.options)}")
        return value
    if d.type == FieldType.MULTISELECT:
        if not isinstance(value, list) or any(v not in d.options for v in value) or len(set(value)) != len(value):
            raise _bad(d.key, f"expected a list of distinct options of {', '.join(d.options)}")
        return [o for o in d.options if o in value] or None  # in the definition's order; empty clears
    if not isinstance(value, bool):
        raise _bad(d.key, "expected true or false")
    return value


def _date(d: FieldDefinition, value: Any) -> str:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise _bad(d.key, "expected a date, YYYY-MM-DD")


def check_values(
    definitions: Mapping[str, FieldDefinition], values: Mapping[str, Any], *, staff: bool
) -> dict[str, Any]:
    """The values as stored (None: clear), each checked by its definition. A key that is not an active field of
    this entity, or (for a requester) one they may not see, is refused like any bad value."""
    checked: dict[str, Any] = {}
    for key, value in values.items():
        d = definitions.get(key)
        if d is None or d.archived or not (staff or d.requester_visible):
            raise _bad(key, "no such field")
        checked[key] = check_value(d, value)
    return checked


def merged(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`current` with `changes` set (a None clears the key)."""
    out = {k: v for k, v in current.items() if k not in changes}
    out.update({k: v for k, v in changes.items() if v is not None})
    return out


def difference(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The changed keys only: their values before and after (None: not set)."""
    keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def filled(value: Any) -> bool:
    """Whether a required field counts as filled (a required checkbox must be ticked, as Zendesk has it)."""
    return value is not None and value is not False


def missing_required(
    definitions: Sequence[FieldDefinition], values: Mapping[str, Any], *, requesters: bool
) -> list[str]:
    """Keys of the active fields required (of requesters, or of agents) that `values` leaves unfilled."""
    return [
        d.key
        for d in definitions
        if not d.archived
        and (d.required_for_requesters if requesters else d.required_for_agents)
        and not filled(values.get(d.key))
    ]


def require(definitions: Sequence[FieldDefinition], values: Mapping[str, Any], *, requesters: bool, when: str) -> None:
    """ValidationFailed naming each required field `values` leaves unfilled."""
    missing = missing_required(definitions, values, requesters=requesters)
    if missing:
        raise ValidationFailed(
            f"required fields must be filled {when}: {', '.join(missing)}",
            errors=[{"loc": ["body", "fields", k], "msg": "required"} for k in missing],
        )


def requester_view(definitions: Mapping[str, FieldDefinition], values: Mapping[str, Any]) -> dict[str, Any]:
    """The values a requester may see: those of active requester-visible fields."""
    return {
        k: v
        for k, v in values.items()
        if (d := definitions.get(k)) is not None and d.requester_visible and not d.archived
    }
