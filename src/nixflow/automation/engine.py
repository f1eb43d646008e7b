"""The rule engine: reacts to ticket events by running the active rules, in position order, on the current ticket.

Actions go through the ticket service like any API call; their events carry the triggering event as
`causation_id`, its `correlation_id`, and the rule's id (so that rule is never triggered by them again).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from nixflow.automation import conditions, round_robin
from nixflow.automation import rules as rule_store
from nixflow.automation.round_robin import CounterStore
from nixflow.domain.errors import DomainError
from nixflow.domain.tickets import OPEN_STATUSES, Status
from nixflow.domain.values import Role
from nixflow.events.bus import Handler
from nixflow.events.envelope import EventRecord
from nixflow.services import ticket_queries, tickets
from nixflow.services.users import SYSTEM
from nixflow.store.db import Tx
from nixflow.store.tables import SYSTEM_USER_ID

log = logging.getLogger(__name__)

# The ticket events rules react to (the lifecycle, plus the changes a rule itself can make, so rules can chain).
TRIGGERS = (
    "ticket.created",
    "ticket.updated",
    "ticket.status_changed",
    "ticket.commented",
    "ticket.approved",
    "ticket.rejected",
    "ticket.priority_changed",
    "ticket.category_changed",
)


def pending_actions(rule: Mapping[str, Any], ticket: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rule's actions that would change something on this ticket."""
    out = []
    for action in rule["actions"]:
        kind = action["type"]
        if (
            (kind == "set_priority" and ticket["priority"] == action["value"])
            or (kind == "assign" and ticket["assignee_id"] == action["user_id"])
            or (kind == "assign_round_robin" and ticket["assignee_id"] is not None)
            or (kind == "escalate" and ticket["escalation_level"] >= action["level"])
        ):
            continue
        out.append(dict(action))
    return out


def _emit(tx: Tx, event_type: str, ticket_id: int, data: dict[str, Any]) -> None:
    tx.emit(event_type, aggregate_type="ticket", aggregate_id=ticket_id, data={"ticket_id": ticket_id, **data})


def _act(tx: Tx, rule: Mapping[str, Any], ticket_id: int, action: Mapping[str, Any], counters: CounterStore) -> None:
    kind = action["type"]
    if kind == "set_priority":
        tickets.update_fields(
            tx, actor=SYSTEM, ticket_id=ticket_id, version=None, changes={"priority": action["value"]}
        )
    elif kind == "assign":
        tickets.update_fields(
            tx, actor=SYSTEM, ticket_id=ticket_id, version=None, changes={"assignee_id": action["user_id"]}
        )
    elif kind == "assign_round_robin":
        category_id = tickets.current(tx, ticket_id=ticket_id)["category_id"]
        agent_id = None if category_id is None else round_robin.pick(tx, counters, category_id, ticket_id=ticket_id)
        if agent_id is None:
            reason = "the ticket has no category" if category_id is None else "no eligible agent in the category"
            log.info("round-robin left ticket %s unassigned: %s", ticket_id, reason)
            _emit(tx, "automation.assignment_skipped", ticket_id, {"category_id": category_id, "reason": reason})
            return
        tickets.update_fields(tx, actor=SYSTEM, ticket_id=ticket_id, version=None, changes={"assignee_id": agent_id})
    elif kind == "escalate":
        tickets.escalate(
            tx, actor=SYSTEM, ticket_id=ticket_id, level=action["level"], reason=rule["name"], rule_id=rule["id"]
        )
    elif kind == "notify":
        data = {"recipient_role": action.get("role"), "recipient_id": action.get("user_id"), "reason": rule["name"]}
        tx.emit(
            "notification.requested",
            aggregate_type="ticket",
            aggregate_id=ticket_id,
            data={"ticket_id": ticket_id, **data},
        )


def run_rule(
    tx: Tx,
    rule: Mapping[str, Any],
    ticket: Mapping[str, Any],
    counters: CounterStore,
    *,
    trigger_event_id: str | None,
) -> bool:
    """Apply (or, in shadow mode, log) a rule whose conditions matched; False if it had nothing to do."""
    actions = pending_actions(rule, ticket)
    if not actions:
        return False
    rtx = tx.child(dataclasses.replace(tx.ctx, actor_id=SYSTEM_USER_ID, rule_id=int(rule["id"])))
    ref = {"rule_id": rule["id"], "rule_name": rule["name"], "trigger_event_id": trigger_event_id}
    if rule["mode"] == "shadow":
        _emit(rtx, "automation.rule_shadowed", ticket["id"], {**ref, "actions": actions})
        return True
    try:
        with tx.savepoint():
            _emit(rtx, "automation.rule_applied", ticket["id"], {**ref, "actions": actions})
            for action in actions:
                _act(rtx, rule, ticket["id"], action, counters)
    except DomainError as exc:
        _emit(rtx, "automation.rule_failed", ticket["id"], {**ref, "error": f"{type(exc).__name__}: {exc.detail}"})
    return True


class RuleEngine:
    """Runs prioritization and assignment rules on ticket events."""

    def __init__(self, *, counters: CounterStore, max_depth: int) -> None:
        self.counters = counters
        self.max_depth = max_depth

    def handlers(self) -> list[tuple[str, Handler]]:
        """The engine's subscriptions, for the handler table."""
        handler = Handler("automation.rules", self.handle)
        departures = Handler("automation.reassign_departed", self.reassign_departed)
        return [
            *((event_type, handler) for event_type in TRIGGERS),
            ("user.deactivated", departures),
            ("user.role_changed", departures),
        ]

    def handle(self, tx: Tx, record: EventRecord) -> None:
        """Evaluate the active rules for one ticket event."""
        if record.aggregate_type != "ticket":
            return
        ticket_id = int(record.aggregate_id)
        if record.depth >= self.max_depth:
            reason = f"chain reached the depth limit ({self.max_depth}); rules not run for {record.type}"
            log.warning("ticket %s: %s", ticket_id, reason)
            stx = tx.child(dataclasses.replace(tx.ctx, actor_id=SYSTEM_USER_ID))
            _emit(
                stx,
                "automation.chain_stopped",
                ticket_id,
                {"rule_id": record.rule_id, "depth": record.depth, "reason": reason},
            )
            return
        self.run_rules(tx, ticket_id, kinds=rule_store.EVENT_KINDS, trigger=record)

    def run_rules(self, tx: Tx, ticket_id: int, *, kinds: Sequence[str], trigger: EventRecord) -> None:
        """Run the active rules of `kinds` whose conditions match the ticket, in position order."""
        ticket: dict[str, Any] | None = None
        for rule in rule_store.active_rules_of(tx, kinds=kinds):
            if rule["id"] == trigger.rule_id:
                continue  # an event a rule caused never triggers that rule again
            if ticket is None:  # (re)load: each rule sees what the rules before it changed
                ticket = tickets.current(tx, ticket_id=ticket_id)
            if ticket["status"] == Status.CLOSED.value:
                return
            if not conditions.in_rollout(rule["id"], ticket_id, rule["rollout_percent"]):
                continue
            if conditions.matches(rule["conditions"], conditions.facts_of(ticket, tx.now)):
                run_rule(tx, rule, ticket, self.counters, trigger_event_id=trigger.event_id)
                ticket = None

    def reassign_departed(self, tx: Tx, record: EventRecord) -> None:
        """Someone who left (deactivated, or now a requester) hands their open tickets back: each is
        unassigned and the assignment rules pick someone else, or leave it for the queue."""
        if record.type == "user.role_changed" and record.data["new_role"] != Role.REQUESTER.value:
            return
        user_id = int(record.data["user_id"])
        stx = tx.child(dataclasses.replace(tx.ctx, actor_id=SYSTEM_USER_ID))
        flt = ticket_queries.TicketFilter(assignee_id=user_id, statuses=frozenset(OPEN_STATUSES))
        cursor: str | None = None
        while True:
            page, cursor = ticket_queries.list_tickets(tx.conn, viewer=SYSTEM, flt=flt, limit=200, cursor=cursor)
            for ticket in page:
                tickets.update_fields(
                    stx, actor=SYSTEM, ticket_id=ticket["id"], version=None, changes={"assignee_id": None}
                )
                self.run_rules(stx, ticket["id"], kinds=("assignment",), trigger=record)
            if cursor is None:
                return
