"""The rule builder's vocabulary says exactly what the validator accepts: no field, operator or action more or less."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from nixflow.domain.rule_vocabulary import vocabulary
from nixflow.domain.rules import OPS, Action, Conditions

VOCABULARY = vocabulary()
LISTED = {(f["name"], o["name"]): (f, o) for f in VOCABULARY["fields"] for o in f["operators"]}
SAMPLES: list[Any] = ["vpn", 3, ["vpn"], [3], True, None]


def _members(annotation: Any) -> list[type[BaseModel]]:
    """The models of a (possibly annotated, possibly nested) union."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _members(arg)]


def _literals(annotation: Any) -> set[str]:
    return {a for a in typing.get_args(annotation) if isinstance(a, str)}


def _scalar(field: dict[str, Any]) -> Any:
    """A value of the field's type, as the builder would offer it."""
    if field["values"]:
        return field["values"][-1]
    return {"text": "vpn", "tag": "vpn", "custom": "vpn", "id": 7, "number": 30}[field["type"]]


def _value(field: dict[str, Any], operator: dict[str, Any]) -> Any:
    shape = operator["value"]
    if shape == "flag":
        return False
    if shape == "number":
        return 30
    return [_scalar(field)] if shape in ("list", "words") else _scalar(field)


def _accepts(condition: dict[str, Any]) -> bool:
    try:
        Conditions.model_validate({"all": [condition]})
    except ValidationError:
        return False
    return True


def _condition(field: str, op: str, value: Any) -> dict[str, Any]:
    keyed = {"key": "laptop_model"} if field == "custom" else {}
    return {"field": field, **keyed, "op": op, "value": value}


def test_the_fields_and_operators_are_those_of_the_validators_models() -> None:
    variants = _members(Conditions.model_fields["all"].annotation)
    pairs = {
        (field, op)
        for model in variants
        for field in _literals(model.model_fields["field"].annotation)
        for op in _literals(model.model_fields["op"].annotation)
    }
    assert pairs == set(LISTED)


@pytest.mark.parametrize("field", [*(f["name"] for f in VOCABULARY["fields"]), "mood"])
def test_the_validator_accepts_a_field_and_operator_exactly_when_the_vocabulary_lists_them(field: str) -> None:
    for op in OPS:
        if (field, op) in LISTED:
            term, operator = LISTED[field, op]
            assert _accepts(_condition(field, op, _value(term, operator))), (field, op)
        else:
            assert not any(_accepts(_condition(field, op, v)) for v in SAMPLES), (field, op)


def test_a_value_of_the_wrong_type_is_refused_where_the_vocabulary_names_a_type() -> None:
    for (field, op), (term, operator) in LISTED.items():
        if term["values"] and operator["value"] == "one":
            assert not _accepts(_condition(field, op, "no-such-" + field)), (field, op)
        if term["type"] == "id" and operator["value"] == "one":
            assert not _accepts(_condition(field, op, "seven")), (field, op)


def test_the_actions_and_their_parameters_are_those_of_the_validators_models() -> None:
    models = {_literals(m.model_fields["type"].annotation).pop(): m for m in _members(Action)}
    described = {a["type"]: a for a in VOCABULARY["actions"]}
    assert set(described) == set(models)
    for kind, model in models.items():
        params = {p["name"]: p["required"] for p in described[kind]["params"]}
        fields = {name: info.is_required() for name, info in model.model_fields.items() if name != "type"}
        assert params == fields, kind


def test_every_action_the_vocabulary_describes_validates_with_values_of_its_parameters_types() -> None:
    samples = {"enum": None, "id": 7, "integer": 2, "tag": "vpn", "template": "Hello", "field_key": "laptop_model"}
    actions = TypeAdapter(list[Action])
    for action in VOCABULARY["actions"]:
        given = {
            p["name"]: p["values"][0] if p["type"] == "enum" else samples.get(p["type"], "x")
            for p in action["params"]
            if p["required"] or action["one_of"]
        }
        actions.validate_python([{"type": action["type"], **given}])
        with pytest.raises(ValidationError):
            actions.validate_python([{"type": action["type"], **given, "colour": "red"}])
