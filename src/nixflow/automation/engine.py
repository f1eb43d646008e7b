"""The rule engine: reacts to ticket events by running a cycle of the active rules on the current ticket.

The cycle's semantics (each rule at most once per ticket and correlation, position order, passes while
something changed, what a rule reacts to) are decided in `automation/cycle.py`, shared with the simulation.
Actions go through the ticket service like any API call; their events carry the triggering event as
`causation_id`, its `correlation_id`, and the rule's id and name. An event a rule caused starts no cycle of
its own: the cycle that caused it runs the next pass.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from nixflow.automation import cycle, round_robin
from nixflow.automation.round_robin import CounterStore
from nixflow.domain import conditions
from nixflow.domain.envelope import EventRecord
from nixflow.domain.errors import DomainError
from nixflow.domain.tickets import OPEN_STATUSES, Status
from nixflow.domain.values import Role
from nixflow.events.bus import Handler
from nixflow.services import (
    macro_templates,
    macros,
    ticket_fields,
    ticket_queries,
    ticket_tags,
    ticket_workflow,
    tickets,
    users,
)
from nixflow.services import rules as rule_store
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
    "ticket.tagged",
    "ticket.untagged",
    "ticket.fields_changed",
)
# The user events after which someone's open tickets may need another assignee.
DEPARTURES = ("user.deactivated", "user.role_changed")


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
            _emit(tx, "automation.assignment_skipped", ticket_id, {"category_id": category_id, "reason": reason})
            return
        tickets.known_assignable(tx, agent_id)  # picked among the category's active agents, just read
        tickets.update_fields(tx, actor=SYSTEM, ticket_id=ticket_id, version=None, changes={"assignee_id": agent_id})
    elif kind == "escalate":
        tickets.escalate(
            tx, actor=SYSTEM, ticket_id=ticket_id, level=action["level"], reason=rule["name"], rule_id=rule["id"]
        )
    elif kind == "add_tag":
        ticket_tags.change(tx, actor=SYSTEM, ticket_id=ticket_id, add=[action["value"]])
    elif kind == "remove_tag":
        ticket_tags.change(tx, actor=SYSTEM, ticket_id=ticket_id, remove=[action["value"]])
    elif kind == "set_category":
        changes = {"category_id": action["category_id"]}
        tickets.update_fields(tx, actor=SYSTEM, ticket_id=ticket_id, version=None, changes=changes)
    elif kind == "set_status":
        tickets.transition(tx, actor=SYSTEM, ticket_id=ticket_id, status=Status(action["value"]))
    elif kind == "send_reply":
        tickets.add_comment(tx, actor=SYSTEM, ticket_id=ticket_id, body=reply_text(tx, ticket_id, action))
    elif kind == "apply_macro":
        leave = frozenset(action.get("leave", ()))
        macros.apply_macro(tx, actor=SYSTEM, ticket_id=ticket_id, macro_id=action["macro_id"], leave=leave)
    elif kind == "start_workflow":
        ticket_workflow.start_unless_running(tx, actor=SYSTEM, ticket_id=ticket_id, workflow_id=action["workflow_id"])
    elif kind == "set_field":
        ticket_fields.change(tx, actor=SYSTEM, ticket_id=ticket_id, values={action["key"]: action.get("value")})
    elif kind == "notify":
        data = {"recipient_role": action.get("role"), "recipient_id": action.get("user_id"), "reason": rule["name"]}
        tx.emit(
            "notification.requested",
            aggregate_type="ticket",
            aggregate_id=ticket_id,
            data={"ticket_id": ticket_id, **data},
        )


def reply_text(tx: Tx, ticket_id: int, action: Mapping[str, Any]) -> str:
    """The body of a rule's reply: its template (checked when the rule was saved) rendered for the ticket, with
    NixFlow as the agent."""
    ticket = tickets.current(tx, ticket_id=ticket_id)
    return macro_templates.render(str(action["text"]), macro_templates.context(tx.conn, ticket=ticket, agent=SYSTEM))


def run_rule(
    tx: Tx,
    rule: Mapping[str, Any],
    ticket_id: int,
    actions: list[dict[str, Any]],
    counters: CounterStore,
    *,
    trigger_event_id: str | None,
    guarded: bool = True,
) -> None:
    """Apply (or, in shadow mode, log) the actions a rule decided on.

    Guarded, a failing action rolls back the rule's savepoint and is logged (`automation.rule_failed`);
    unguarded (the SLA job's batch, whose ticket saves are held: `tickets.held_saves`) it fails the caller.
    """
    rule_ctx = dataclasses.replace(tx.ctx, actor_id=SYSTEM_USER_ID, rule_id=int(rule["id"]), rule_name=rule["name"])
    rtx = tx.child(rule_ctx)
    ref = {"rule_id": rule["id"], "rule_name": rule["name"], "trigger_event_id": trigger_event_id}
    if rule["mode"] == "shadow":
        _emit(rtx, "automation.rule_shadowed", ticket_id, {**ref, "actions": actions})
        return

    def apply() -> None:
        _emit(rtx, "automation.rule_applied", ticket_id, {**ref, "actions": actions})
        for action in actions:
            _act(rtx, rule, ticket_id, action, counters)

    if not guarded:
        apply()
        return
    try:
        with tx.savepoint():
            apply()
    except DomainError as exc:
        _emit(rtx, "automation.rule_failed", ticket_id, {**ref, "error": f"{type(exc).__name__}: {exc.detail}"})


def fired_in_cycle(tx: Tx, trigger: EventRecord, ticket_id: int) -> set[int]:
    """The rules that already fired on the ticket in the trigger's cycle.

    Inline, the cycle is this unit of work: its events say. A trigger delivered later (a retry, a waiting
    event, a worker) finds what its cycle did before in the log, by correlation id, from the trigger's time on.
    """
    fired: set[int] = set()
    inline = False
    key, cycle_id = str(ticket_id), trigger.correlation_id
    for event in tx.events:
        if event is trigger:
            inline = True
        elif event.type in rule_store.OUTCOMES and event.aggregate_id == key and event.correlation_id == cycle_id:
            fired.add(int(event.data["rule_id"]))
    if not inline:
        fired |= rule_store.fired_in_log(tx.conn, correlation_id=cycle_id, ticket_id=ticket_id, since=trigger.timestamp)
    return fired


def _changes(events: Sequence[EventRecord], ticket_id: int) -> frozenset[str]:
    """The ticket fields these events changed."""
    key = str(ticket_id)
    out: set[str] = set()
    for event in events:
        if event.aggregate_type == "ticket" and event.aggregate_id == key:
            out |= cycle.changed_by(event.type, event.data)
    return frozenset(out)


class RuleEngine:
    """Runs prioritization and assignment rules on ticket events."""

    def __init__(self, *, counters: CounterStore, max_depth: int) -> None:
        self.counters = counters
        self.max_depth = max_depth

    def handler(self) -> Handler:
        """The rules: evaluated on the ticket events of `TRIGGERS` (`nixflow/event_handlers.py` subscribes it)."""
        return Handler("automation.rules", self.handle)

    def departures_handler(self) -> Handler:
        """Reassigning the open tickets of someone who left, on the events of `DEPARTURES`."""
        return Handler("automation.reassign_departed", self.reassign_departed)

    def handle(self, tx: Tx, record: EventRecord) -> None:
        """Evaluate the active rules for one ticket event."""
        if record.aggregate_type != "ticket" or record.rule_id is not None:
            return  # an event a rule caused: the cycle that caused it runs the next pass
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
        self.run_cycle(
            tx,
            ticket_id,
            kinds=rule_store.EVENT_KINDS,
            trigger=record,
            changed=cycle.changed_by(record.type, record.data),
            protected=cycle.protected_by(record.type, record.data),
        )

    def run_cycle(
        self,
        tx: Tx,
        ticket_id: int,
        *,
        kinds: Sequence[str],
        trigger: EventRecord,
        changed: frozenset[str],
        protected: frozenset[str],
    ) -> None:
        """Run the active rules of `kinds` on a ticket: passes in position order while something changes."""
        rules = rule_store.active_rules_of(tx, kinds=kinds)
        if not any(cycle.reacts(rule, changed) for rule in rules):
            return
        fired = fired_in_cycle(tx, trigger, ticket_id)
        evaluated, passes, fired_now, start = 0, 0, 0, changed
        ticket: dict[str, Any] | None = None
        while passes < cycle.MAX_PASSES:
            passes += 1
            changed_in_pass = False
            for rule in rules:
                if rule["id"] in fired or not cycle.reacts(rule, changed):
                    continue
                if not conditions.in_rollout(rule["id"], ticket_id, rule["rollout_percent"]):
                    continue
                if ticket is None:  # (re)load: each rule sees what the rules before it changed
                    ticket = users.with_requester_email(tx, tickets.current(tx, ticket_id=ticket_id))
                if ticket["status"] == Status.CLOSED.value:
                    break
                evaluated += 1
                actions = cycle.decide(rule, ticket, tx.now, changed=changed, protected=protected)
                if not actions:
                    continue
                fired.add(rule["id"])
                fired_now += 1
                mark = len(tx.events)
                run_rule(tx, rule, ticket_id, actions, self.counters, trigger_event_id=trigger.event_id)
                ticket = None
                made = _changes(tx.events[mark:], ticket_id)
                changed_in_pass = changed_in_pass or bool(made)
                changed = changed | made
            if not changed_in_pass:
                break
        if evaluated:
            log.info(
                "ticket %s, %s (correlation %s): %d rules evaluated, %d fired, %d passes, changed %s",
                ticket_id,
                trigger.type,
                trigger.correlation_id,
                evaluated,
                fired_now,
                passes,
                ", ".join(sorted(changed - start)) or "nothing",
            )

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
                self.run_cycle(
                    stx,
                    ticket["id"],
                    kinds=("assignment",),
                    trigger=record,
                    changed=cycle.EVERYTHING,
                    protected=frozenset(),
                )
            if cursor is None:
                return
