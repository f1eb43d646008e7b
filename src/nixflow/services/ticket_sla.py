"""SLA arithmetic on stored tickets: policies, due times, and when a periodic job next has work for a ticket."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from nixflow.domain import conditions as rule_conditions
from nixflow.domain import sla
from nixflow.domain.calendars import BusinessClock
from nixflow.domain.tickets import Status
from nixflow.services import calendars
from nixflow.services import rules as rule_store
from nixflow.services.users import with_requester_email
from nixflow.store import config_cache
from nixflow.store.db import Tx
from nixflow.store.fast import Fast
from nixflow.store.tables import organization_sla_policies, sla_policies

# Read by every unit of work that touches a ticket.
_POLICIES = Fast(select(sla_policies))
_ORGANIZATION_POLICIES = Fast(select(organization_sla_policies))

Policies = dict[tuple[str, int | None], sla.Policy]  # (priority, organization id or None) → policy


def _policies(conn: Connection) -> Policies:
    policies: Policies = {
        (r["priority"], None): sla.Policy(
            r["first_response_minutes"], r["resolution_minutes"], r["warning_percent"], r["calendar_id"]
        )
        for r in _POLICIES.all(conn, {})
    }
    for r in _ORGANIZATION_POLICIES.all(conn, {}):
        base = policies.get((r["priority"], None))
        targets = r["first_response_minutes"], r["resolution_minutes"], r["warning_percent"]
        policies[(r["priority"], int(r["organization_id"]))] = sla.Policy(*targets, base.calendar_id if base else None)
    return policies


def policy_for(tx: Tx, ticket: Mapping[str, Any]) -> sla.Policy | None:
    """The SLA policy of a ticket: its organization's for its priority, else its priority's, if any (the
    policies come from the process's cache of configuration)."""
    policies = config_cache.cached(tx, "sla_policies", ("sla_policies", "organization_sla_policies"), _policies)
    priority = ticket["priority"]
    return policies.get((priority, ticket.get("organization_id"))) or policies.get((priority, None))


def hours_of(tx: Tx, ticket: dict[str, Any]) -> BusinessClock:
    """The business hours a ticket's SLA counts in: its policy's calendar, else its category's, else 24/7."""
    policy = policy_for(tx, ticket)
    return calendars.hours_for(tx, policy.calendar_id if policy else None, ticket.get("category_id"))


def sla_clock(tx: Tx, ticket: dict[str, Any]) -> sla.Clock:
    """A ticket's SLA clock."""
    return sla.Clock(
        ticket["created_at"], ticket["sla_paused_seconds"], ticket["sla_paused_since"], hours_of(tx, ticket)
    )


def paused_seconds(tx: Tx, ticket: dict[str, Any]) -> int:
    """The pause ending now, in the ticket's business seconds (wall seconds when it counts 24/7)."""
    return int(hours_of(tx, ticket).elapsed(ticket["sla_paused_since"], tx.now).total_seconds())


def sla_columns(tx: Tx, ticket: dict[str, Any]) -> dict[str, Any]:
    """Due times and the next check, from the ticket's current priority, pauses and SLA state."""
    policy = policy_for(tx, ticket)
    clock = sla_clock(tx, ticket)
    if policy is None:
        return {"first_response_due": None, "resolution_due": None, "next_check_at": None}
    resolved = ticket["status"] in (Status.RESOLVED.value, Status.CLOSED.value)
    return {
        "first_response_due": sla.due_at(policy, clock, "first_response"),
        "resolution_due": sla.due_at(policy, clock, "resolution"),
        "next_check_at": sla.next_check(
            policy, clock, ticket["sla_state"] or {}, ticket["first_response_at"], resolved
        ),
    }


def next_check_at(tx: Tx, ticket: dict[str, Any]) -> datetime | None:
    """The next instant (from `tx.now`) a periodic job has work for this ticket: an SLA alarm or an escalation."""
    clock = sla_clock(tx, ticket)
    resolved = ticket["status"] in (Status.RESOLVED.value, Status.CLOSED.value)
    state = ticket["sla_state"] or {}
    policy = policy_for(tx, ticket)
    instants = [sla.next_check(policy, clock, state, ticket["first_response_at"], resolved)]
    if not resolved:
        escalation_rules = rule_store.active_rules_of(tx, kinds=("escalation",))
        facts = with_requester_email(tx, ticket) if escalation_rules else ticket
        due, upcoming = rule_conditions.escalation_due(escalation_rules, facts, tx.now)
        instants.append(tx.now if due else upcoming)
    return min((i for i in instants if i is not None), default=None)


def reach(ticket: dict[str, Any], target: str, at: datetime) -> sla.Reached | None:
    """What reaching `target` at `at` records on `ticket` (its due times already current): `sla.met` in time,
    `sla.breached` late, None if the periodic job or an earlier change settled it already."""
    due = ticket["first_response_due"] if target == "first_response" else ticket["resolution_due"]
    return sla.reached(ticket["sla_state"] or {}, target, due, at, ticket["sla_paused_since"])
