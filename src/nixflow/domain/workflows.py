"""Approval workflows, pure: what a definition may say, who decides a step, and when a step is decided.

A definition is ordered steps; each names its approvers (users, a role, the requester's manager read from a user
custom field, or a category's team), a rule (`all`, `any`, `n_of_m` with `required`), an optional deadline in
hours with whom to escalate to, and the workflow says what happens on approval and on rejection (a status, an
assignee, a macro). A step is approved once `required` approvers said yes, rejected once that can no longer
happen; one formula for the three rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nixflow.domain.errors import ValidationFailed

RULES = ("all", "any", "n_of_m")
APPROVER_KINDS = ("users", "role", "manager", "team")
ROLES = ("admin", "agent", "approver")
OUTCOME_STATUSES = ("open", "pending", "resolved", "closed")
MAX_STEPS = 10
MAX_DEADLINE_HOURS = 24 * 365


@dataclass(frozen=True)
class Decision:
    """One approver's word on the step they were asked about (a delegate's word counts as the approver's)."""

    user_id: int
    approve: bool


def _refuse(loc: Sequence[str | int], message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[{"loc": ["body", *loc], "msg": message, "type": "value_error"}])


def _positive_int(value: Any, loc: Sequence[str | int]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _refuse(loc, "must be a positive whole number")
    return value


def _approvers(spec: Any, loc: list[str | int]) -> dict[str, Any]:
    if not isinstance(spec, Mapping) or spec.get("kind") not in APPROVER_KINDS:
        raise _refuse([*loc, "kind"], f"approvers need a kind, one of {', '.join(APPROVER_KINDS)}")
    kind = spec["kind"]
    if kind == "users":
        ids = spec.get("user_ids")
        if not isinstance(ids, list) or not ids or len(ids) > 50:
            raise _refuse([*loc, "user_ids"], "name 1 to 50 users")
        return {"kind": kind, "user_ids": sorted({_positive_int(i, [*loc, "user_ids"]) for i in ids})}
    if kind == "role":
        if spec.get("role") not in ROLES:
            raise _refuse([*loc, "role"], f"role must be one of {', '.join(ROLES)}")
        return {"kind": kind, "role": spec["role"]}
    if kind == "manager":
        field = spec.get("field")
        if not isinstance(field, str) or not field:
            raise _refuse([*loc, "field"], "name the user custom field that holds the requester's manager")
        return {"kind": kind, "field": field}
    return {"kind": kind, "category_id": _positive_int(spec.get("category_id"), [*loc, "category_id"])}


def _step(spec: Any, loc: list[str | int]) -> dict[str, Any]:
    if not isinstance(spec, Mapping):
        raise _refuse(loc, "a step is an object")
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise _refuse([*loc, "name"], "a step needs a name of 1 to 100 characters")
    rule = spec.get("rule", "all")
    if rule not in RULES:
        raise _refuse([*loc, "rule"], f"rule must be one of {', '.join(RULES)}")
    step: dict[str, Any] = {
        "name": name.strip(),
        "rule": rule,
        "approvers": _approvers(spec.get("approvers"), [*loc, "approvers"]),
    }
    if rule == "n_of_m":
        step["required"] = _positive_int(spec.get("required"), [*loc, "required"])
        named = step["approvers"].get("user_ids")
        if named is not None and step["required"] > len(named):
            raise _refuse(
                [*loc, "required"], f"{step['required']} of {len(named)} named approvers can never be reached"
            )
    hours = spec.get("deadline_hours")
    if hours is not None:
        if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= MAX_DEADLINE_HOURS:
            raise _refuse([*loc, "deadline_hours"], f"a deadline is more than 0 and at most {MAX_DEADLINE_HOURS} hours")
        step["deadline_hours"] = hours
    escalate = spec.get("escalate_to") or []
    if not isinstance(escalate, list) or (escalate and hours is None):
        raise _refuse([*loc, "escalate_to"], "escalation is a list of user ids, and needs a deadline")
    step["escalate_to"] = sorted({_positive_int(i, [*loc, "escalate_to"]) for i in escalate})
    return step


def _outcome(spec: Any, loc: list[str | int]) -> dict[str, Any]:
    if spec is None:
        return {}
    if not isinstance(spec, Mapping) or set(spec) - {"status", "assignee_id", "macro_id"}:
        raise _refuse(loc, "an outcome may set status, assignee_id and macro_id")
    out: dict[str, Any] = {}
    if spec.get("status") is not None:
        if spec["status"] not in OUTCOME_STATUSES:
            raise _refuse([*loc, "status"], f"status must be one of {', '.join(OUTCOME_STATUSES)}")
        out["status"] = spec["status"]
    for key in ("assignee_id", "macro_id"):
        if spec.get(key) is not None:
            out[key] = _positive_int(spec[key], [*loc, key])
    return out


def checked_definition(body: Mapping[str, Any]) -> dict[str, Any]:
    """A definition's steps and outcomes, normalized; ValidationFailed naming the first thing wrong."""
    steps = body.get("steps")
    if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS:
        raise _refuse(["steps"], f"a workflow has 1 to {MAX_STEPS} steps")
    return {
        "steps": [_step(s, ["steps", i]) for i, s in enumerate(steps)],
        "on_approved": _outcome(body.get("on_approved"), ["on_approved"]),
        "on_rejected": _outcome(body.get("on_rejected"), ["on_rejected"]),
    }


def required(step: Mapping[str, Any], approvers: int) -> int:
    """How many yeses decide `step` among `approvers` people (never more than there are)."""
    if step["rule"] == "any":
        return min(1, approvers)
    if step["rule"] == "n_of_m":
        return min(int(step["required"]), approvers)
    return approvers


def step_outcome(step: Mapping[str, Any], approver_ids: Sequence[int], decisions: Sequence[Decision]) -> str | None:
    """`approved`, `rejected`, or None while the step is still open."""
    counted = {d.user_id: d.approve for d in decisions if d.user_id in approver_ids}
    yes = sum(1 for v in counted.values() if v)
    undecided = len(set(approver_ids)) - len(counted)
    need = required(step, len(set(approver_ids)))
    if yes >= need:
        return "approved"
    if yes + undecided < need:
        return "rejected"
    return None
