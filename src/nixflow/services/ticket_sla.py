"""SLA arithmetic on stored tickets: policies, due times, and when a periodic job next has work for a ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from nixflow.automation import conditions as rule_conditions
from nixflow.automation import rules as rule_store
from nixflow.domain import sla
from nixflow.domain.tickets import Status
from nixflow.store.db import Tx
from nixflow.store.tables import sla_policies


def _policies(conn: Connection) -> dict[str, sla.Policy]:
    return {
        r.priority: sla.Policy(r.first_response_minutes, r.resolution_minutes, r.warning_percent)
        for r in conn.execute(select(sla_policies))
    }


def policy_for(tx: Tx, priority: str) -> sla.Policy | None:
    """The SLA policy of a priority, if any (the policies are read once per unit of work)."""
    return tx.memoized("sla_policies", lambda: _policies(tx.conn)).get(priority)


def sla_clock(ticket: dict[str, Any]) -> sla.Clock:
    """A ticket's SLA clock."""
    return sla.Clock(ticket["created_at"], ticket["sla_paused_seconds"], ticket["sla_paused_since"])


def sla_columns(tx: Tx, ticket: dict[str, Any]) -> dict[str, Any]:
    """Due times and the next check, from the ticket's current priority, pauses and SLA state."""
    policy = policy_for(tx, ticket["priority"])
    clock = sla_clock(ticket)
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
    clock = sla_clock(ticket)
    resolved = ticket["status"] in (Status.RESOLVED.value, Status.CLOSED.value)
    state = ticket["sla_state"] or {}
    policy = policy_for(tx, ticket["priority"])
    instants = [sla.next_check(policy, clock, state, ticket["first_response_at"], resolved)]
    if not resolved:
        escalation_rules = rule_store.active_rules_of(tx, kinds=("escalation",))
        due, upcoming = rule_conditions.escalation_due(escalation_rules, ticket, tx.now)
        instants.append(tx.now if due else upcoming)
    return min((i for i in instants if i is not None), default=None)


def sla_met(ticket: dict[str, Any], target: str, at: datetime) -> dict[str, Any] | None:
    """The data of `sla.met` if `target` was met in time (and not already breached)."""
    due = ticket["first_response_due"] if target == "first_response" else ticket["resolution_due"]
    breached = (ticket["sla_state"] or {}).get("breached", [])
    if due is None or target in breached or at > due:
        return None
    return {"target": target, "due_at": due, "met_at": at}
