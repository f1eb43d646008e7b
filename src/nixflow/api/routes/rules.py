"""Automation rules (admin): list, create, read, change, delete, and simulate over history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict

from nixflow.api.deps import App, Ctx, GuardedRoute, PathId, admin_only
from nixflow.api.schemas import Instant
from nixflow.api.schemas import Strict as StrictBody
from nixflow.automation import rule_refs, simulation, vocabulary
from nixflow.domain.rules import RuleCreate, RuleUpdate
from nixflow.services import rules
from nixflow.store.db import Tx

router = APIRouter(
    prefix="/api/rules", tags=["automation"], route_class=GuardedRoute, dependencies=[Depends(admin_only)]
)


class RuleRead(BaseModel):
    id: int
    name: str
    kind: str
    active: bool
    position: int
    mode: str
    rollout_percent: int
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


class SimulationRequest(StrictBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "rule": {
                        "name": "printer is low",
                        "kind": "prioritization",
                        "conditions": {"any": [{"field": "text", "op": "contains_word", "value": "printer"}]},
                        "actions": [{"type": "set_priority", "value": "low"}],
                    },
                    "since": "2026-11-01T00:00:00Z",
                    "until": "2026-12-01T00:00:00Z",
                }
            ]
        }
    )

    rule: RuleCreate
    since: Instant
    until: Instant


class SimulatedAction(BaseModel):
    """An action the rule would have taken, when, and on which event (none for a time-based escalation)."""

    action: dict[str, Any]
    at: datetime
    trigger_event_id: str | None


class ActualChange(BaseModel):
    """A change of the same field that did happen, by a rule (`rule_id`) or a person (`actor_id`)."""

    action: dict[str, Any]
    at: datetime
    event_id: str
    rule_id: int | None
    actor_id: int | None


class SimulationSample(BaseModel):
    """`title`: the ticket's title as it is now."""

    ticket_id: int
    title: str
    would: list[SimulatedAction]
    did: list[ActualChange]


class SimulationRead(BaseModel):
    """`matched`: tickets the rule would have acted on; `actions`: how many actions of each type."""

    matched: int
    actions: dict[str, int]
    sample: list[SimulationSample]
    tickets_evaluated: int
    evaluations: int
    since: datetime
    until: datetime


class OperatorTerm(BaseModel):
    """`value`: how its value is given: words (a string or a list), one, list, number or flag (true/false)."""

    name: str
    label: str
    value: str


class FieldTerm(BaseModel):
    """A condition field: `type` of its values, `values` (an enum's), `choices` (the list ids come from),
    `keyed` (a custom field, named by `key`), the operators it takes."""

    name: str
    label: str
    type: str
    values: list[str] | None
    choices: str | None
    keyed: bool
    operators: list[OperatorTerm]


class ActionParam(BaseModel):
    name: str
    label: str
    type: str
    required: bool
    values: list[str] | None = None
    choices: str | None = None
    minimum: int | None = None
    maximum: int | None = None


class ActionTerm(BaseModel):
    """An action kind and its parameters (`one_of`: at least one of them is given)."""

    type: str
    label: str
    params: list[ActionParam]
    one_of: bool


class Choice(BaseModel):
    """A value a list offers; a custom field's also its `type` and `options`."""

    value: int | str
    label: str
    type: str | None = None
    options: list[str] | None = None


class VocabularyRead(BaseModel):
    """What rules can say (what the validator accepts) and the lists their values come from."""

    groups: list[str]
    fields: list[FieldTerm]
    actions: list[ActionTerm]
    choices: dict[str, list[Choice]]


@router.get("/vocabulary", response_model=VocabularyRead)
async def rule_vocabulary(app: App) -> VocabularyRead:
    """The rule builder's vocabulary: condition fields with their operators, action kinds with their parameters,
    and the categories, agents, organizations, tags, macros and custom fields to pick values from."""
    return VocabularyRead(**await app.db.read(vocabulary.read))


# `{rule_id:int}` above: "simulate" is not a rule id, so OPTIONS and 405s name only POST at /simulate.
@router.post("/simulate", response_model=SimulationRead)
async def simulate_rule(body: SimulationRequest, app: App) -> SimulationRead:
    """What a rule (the body of `POST /api/rules`) would have done to the tickets of a period, beside what was
    done: rebuilt from the event log, writing nothing."""
    result = await app.db.read(
        lambda conn: simulation.simulate(conn, spec=body.rule, since=body.since, until=body.until)
    )
    return SimulationRead(**result)


@router.get("", response_model=list[RuleRead])
async def list_rules(app: App) -> list[RuleRead]:
    """Every rule, in the order rules run (position, then id)."""
    return [RuleRead(**r) for r in await app.db.read(rules.list_rules)]


@router.post("", response_model=RuleRead, status_code=201)
async def create_rule(body: RuleCreate, app: App, ctx: Ctx) -> RuleRead:
    """Create a rule; an unknown field, operator or action is a 422 naming it."""
    return RuleRead(**await app.writer.run(lambda tx: _checked(tx, rules.create_rule(tx, spec=body), body), ctx))


@router.get("/{rule_id:int}", response_model=RuleRead)
async def get_rule(rule_id: PathId, app: App) -> RuleRead:
    """One rule."""
    return RuleRead(**await app.db.read(lambda conn: rules.get_rule(conn, rule_id=rule_id)))


@router.patch("/{rule_id:int}", response_model=RuleRead)
async def update_rule(rule_id: PathId, body: RuleUpdate, app: App, ctx: Ctx) -> RuleRead:
    """Change some of a rule's fields."""
    return RuleRead(
        **await app.writer.run(lambda tx: _checked(tx, rules.update_rule(tx, rule_id=rule_id, changes=body), body), ctx)
    )


def _checked(tx: Tx, rule: dict[str, Any], body: RuleCreate | RuleUpdate) -> dict[str, Any]:
    """The rule saved, once its new actions' references hold (else 422 and the unit of work stores nothing)."""
    rule_refs.check(tx.conn, body.actions)
    return rule


@router.delete("/{rule_id:int}", status_code=204)
async def delete_rule(rule_id: PathId, app: App, ctx: Ctx) -> Response:
    """Delete a rule."""
    await app.writer.run(lambda tx: rules.delete_rule(tx, rule_id=rule_id), ctx)
    return Response(status_code=204)
