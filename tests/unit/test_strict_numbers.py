"""No request body reads `true` as the number 1: every integer and number a body takes is validated strictly.

Lax pydantic turns a JSON boolean into 1 (or 1.0); schemathesis found `PATCH .../time-entries/{id}` taking
`{"minutes": true}` as one minute. This walks the validation schema of every route's body, so a new lax field
fails here, not in a fuzzing run that finds it one seed in ten."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import TypeAdapter

from nixflow.api.app import include_routes


def _routes(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI keeps an included router whole
        yield from _routes(included.routes) if included is not None else (route,)


def _lax_numbers(schema: Any, where: str, seen: set[str]) -> Iterator[str]:
    if isinstance(schema, list):
        for item in schema:
            yield from _lax_numbers(item, where, seen)
        return
    if not isinstance(schema, dict):
        return
    if schema.get("type") in ("int", "float") and not schema.get("strict"):
        yield where
    for key, value in schema.items():
        if key in ("metadata", "serialization"):
            continue
        ref = value.get("ref") if isinstance(value, dict) else None
        if isinstance(ref, str):
            if ref in seen:
                continue
            seen.add(ref)
        name = key if key not in ("schema", "fields", "choices", "items_schema", "definitions") else ""
        yield from _lax_numbers(value, f"{where}.{name}" if name else where, seen)


def test_no_request_body_takes_a_boolean_for_a_number() -> None:
    app = FastAPI()
    include_routes(app)
    lax: list[str] = []
    bodies = 0
    for route in _routes(app.routes):
        if not isinstance(route, APIRoute) or route.body_field is None:
            continue
        bodies += 1
        schema = TypeAdapter(route.body_field.field_info.annotation).core_schema
        lax += [f"{sorted(route.methods)} {route.path}: {where}" for where in _lax_numbers(schema, "", set())]
    assert bodies > 60  # the walk saw the API, not an empty app
    assert not lax, "\n".join(lax)


def test_the_walk_finds_a_lax_integer() -> None:
    from pydantic import BaseModel

    class Lax(BaseModel):
        minutes: int | None = None

    found = list(_lax_numbers(TypeAdapter(Lax).core_schema, "", set()))
    assert found and "minutes" in found[0]
