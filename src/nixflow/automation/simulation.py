"""Rule simulation over history: what a rule would have done to the tickets of a period, beside what happened.

Shadow mode shows what a rule would do from now on; this shows what it would have done. Each ticket with
events in the period is rebuilt from its events (`domain/ticket.py`), and the rule is evaluated by
the engine's own decision (`cycle.decide`) at every point the engine would have evaluated it: for
prioritization and assignment rules right after each event that changed something the rule reads, at most
once per cycle (correlation id) and leaving alone what the person's change of that cycle set; for escalation
rules at the instant their time conditions came true between two events. What the rule would have
done is carried forward (a priority it would have set stays set, until a person changes it), so it is not
counted again at the next event. It reads only: nothing is written, no event is emitted.

Approximations, said plainly: the rule is evaluated as if it ran first among the rules (the others' effects
of the same moment are seen at their own events); `rollout_percent`, `active` and `mode` are ignored (every
ticket is simulated); a round-robin assignment is counted, not resolved to an agent; a reply is counted, not
written; `sender` conditions read the requester's address as it is now.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select

from nixflow.automation import cycle
from nixflow.automation.engine import TRIGGERS
from nixflow.domain import conditions
from nixflow.domain.envelope import EventRecord
from nixflow.domain.fields import merged
from nixflow.domain.rules import ACTIONS, RuleCreate, actions_json, conditions_json
from nixflow.domain.ticket import Ticket
from nixflow.domain.tickets import OPEN_STATUSES, Status
from nixflow.store import event_log
from nixflow.store.tables import tickets, users

SAMPLE_SIZE = 50
_BATCH = 200
# The ticket field each kind of change sets, and the rule action that would have set it.
_CHANGED: dict[str, tuple[str, str]] = {
    "ticket.priority_changed": ("priority", "set_priority"),
    "ticket.assigned": ("assignee_id", "assign"),
    "ticket.escalated": ("escalation_level", "escalate"),
    "ticket.tagged": ("tags", "add_tag"),
    "ticket.untagged": ("tags", "remove_tag"),
    "ticket.category_changed": ("category_id", "set_category"),
    "ticket.status_changed": ("status", "set_status"),
    "ticket.fields_changed": ("fields", "set_field"),
}
_ACTION_FIELD = {
    "set_priority": "priority",
    "assign": "assignee_id",
    "assign_round_robin": "assignee_id",
    "set_category": "category_id",
    "set_status": "status",
}
_FIELDLESS = ("notify", "send_reply", "apply_macro")  # actions whose fields the simulation does not follow
_TAG_ACTIONS = ("add_tag", "remove_tag")
_ACTS_ON = {"add_tag": "tags", "remove_tag": "tags", "set_field": "fields"}  # what these actions change
_SOMEONE = -1  # the assignee a simulated round-robin assignment stands for: someone, not known


@dataclass
class TicketOutcome:
    """One ticket's simulation: what the rule would have done, and what was done to the same fields."""

    ticket_id: int
    would: list[dict[str, Any]] = field(default_factory=list)
    did: list[dict[str, Any]] = field(default_factory=list)
    evaluated: int = 0


def _would(
    outcome: TicketOutcome,
    overlay: dict[str, Any],
    now: Mapping[str, Any],
    actions: list[dict[str, Any]],
    at: datetime,
    trigger: str | None,
) -> None:
    tags = tuple(now["tags"])
    for action in actions:
        outcome.would.append({"action": action, "at": at, "trigger_event_id": trigger})
        kind = action["type"]
        if kind in _TAG_ACTIONS:
            tags = tuple(t for t in tags if t != action["value"])
            overlay["tags"] = (*tags, action["value"]) if kind == "add_tag" else tags
        elif kind == "escalate":
            overlay["escalation_level"] = action["level"]
        elif kind == "set_field":
            overlay["fields"] = merged(overlay.get("fields", now["fields"]), {action["key"]: action.get("value")})
        elif kind in _ACTION_FIELD:
            value = action.get("value", action.get("user_id", action.get("category_id", _SOMEONE)))
            overlay[_ACTION_FIELD[kind]] = value


def _did(record: EventRecord, acts_on: set[str]) -> dict[str, Any] | None:
    changed = _CHANGED.get(record.type)
    if changed is None or changed[0] not in acts_on:
        return None
    data = record.data
    action: dict[str, Any] = {"type": changed[1]}
    if changed[1] == "set_priority":
        action["value"] = data["new_priority"]
    elif changed[1] == "assign":
        action["user_id"] = data["assignee_id"]
    elif changed[1] in _TAG_ACTIONS:
        action["tags"] = data["tags"]
    elif changed[1] == "set_category":
        action["category_id"] = data["new_category_id"]
    elif changed[1] == "set_status":
        action["value"] = data["new_status"]
    elif changed[1] == "set_field":
        action["fields"] = data["after"]
    else:
        action["level"] = data["level"]
    return {
        "action": action,
        "at": record.timestamp,
        "event_id": record.event_id,
        "rule_id": record.rule_id,
        "actor_id": record.actor_id,
    }


@dataclass
class _Cycle:
    """The cycle (correlation id) a ticket's history is in, as the engine saw it: what changed, what a
    person's change protects, and whether the rule already fired in it."""

    correlation_id: str | None = None
    changed: frozenset[str] = frozenset()
    protected: frozenset[str] = frozenset()
    fired: bool = False

    def follow(self, record: EventRecord) -> frozenset[str]:
        """Take one event into account; return what it changed."""
        if record.correlation_id != self.correlation_id:
            self.correlation_id, self.changed, self.protected, self.fired = (
                record.correlation_id,
                frozenset(),
                frozenset(),
                False,
            )
        made = cycle.changed_by(record.type, record.data)
        if record.rule_id is None and made:  # a person's (or the system's) change starts a run of the rules
            self.protected = cycle.protected_by(record.type, record.data)
        self.changed |= made
        return made

    def consider(
        self,
        rule: Mapping[str, Any],
        now: dict[str, Any],
        record: EventRecord,
        outcome: TicketOutcome,
        overlay: dict[str, Any],
    ) -> None:
        """Evaluate the rule after `record`, as the engine would have in this cycle."""
        if self.fired:
            return
        actions = cycle.decide(rule, now, record.timestamp, changed=self.changed, protected=self.protected)
        if actions is None:
            return
        outcome.evaluated += 1
        if actions:
            self.fired = True
            self.changed |= {cycle.ACTION_FIELD[a["type"]] for a in actions if a["type"] in cycle.ACTION_FIELD}
            _would(outcome, overlay, now, actions, record.timestamp, record.event_id)


def _opened(records: Sequence[EventRecord]) -> Ticket:
    """The ticket as the unit that opened it left it, as the engine saw it at `ticket.created`: with the custom
    fields of the `ticket.fields_changed` of the same version (applying them again later changes nothing)."""
    first = records[0]
    same_unit = itertools.takewhile(
        lambda r: r.aggregate_version == 1 and r.correlation_id == first.correlation_id, records[1:]
    )
    return Ticket.start(first).apply_all(same_unit)


def replay_ticket(
    rule: Mapping[str, Any],
    records: Sequence[EventRecord],
    *,
    since: datetime,
    until: datetime,
    requester_email: str | None = None,
) -> TicketOutcome | None:
    """Evaluate `rule` over one ticket's history (its events before `until`, in log order)."""
    if not records or records[0].type != "ticket.created":
        return None  # its beginning is gone (events cleaned up): its state cannot be rebuilt
    outcome = TicketOutcome(int(records[0].aggregate_id))
    acting = [a["type"] for a in rule["actions"] if a["type"] not in _FIELDLESS]
    acts_on = {_ACTS_ON.get(k) or _ACTION_FIELD.get(k, "escalation_level") for k in acting}
    timed = rule["kind"] == "escalation"
    state: Ticket | None = None
    overlay: dict[str, Any] = {}
    run = _Cycle()
    for index, record in enumerate(records):
        state = _opened(records) if state is None else state.apply(record)
        changed = _CHANGED.get(record.type)
        if changed is not None and record.rule_id is None:
            overlay.pop(changed[0], None)  # a person (or the system) set it: from here on, what happened holds
        in_period = since <= record.timestamp < until
        if in_period and (done := _did(record, acts_on)) is not None:
            outcome.did.append(done)
        now = {**state.as_row(), **overlay, "requester_email": requester_email}
        if not timed:
            made = run.follow(record)
            if in_period and (record.type in TRIGGERS or made) and now["status"] != Status.CLOSED.value:
                run.consider(rule, now, record, outcome, overlay)
            continue
        # This state holds until the next event; a condition that comes true at that very instant (the real
        # timer escalating the ticket, say) counts: the rule would have fired then too.
        nxt = records[index + 1].timestamp if index + 1 < len(records) else until
        start = max(record.timestamp, since)
        if start > nxt or start >= until or now["status"] in (Status.RESOLVED.value, Status.CLOSED.value):
            continue
        if conditions.rule_level(rule["actions"]) <= now["escalation_level"]:
            continue  # a level fires once
        ready = conditions.ready_at(rule["conditions"], now)
        if ready is None:
            continue
        at = max(ready, start)
        if at <= nxt and at < until:
            outcome.evaluated += 1
            if conditions.matches(rule["conditions"], conditions.facts_of(now, at)):
                _would(outcome, overlay, now, cycle.pending_actions(rule, now), at, None)
    return outcome


def _candidates(conn: Connection, rule: Mapping[str, Any], since: datetime, until: datetime) -> list[int]:
    """Tickets the rule could have acted on in the period: with a triggering event in it; for escalation
    rules, also every ticket that was open during it (time alone escalates)."""
    if rule["kind"] != "escalation":
        found = event_log.aggregates_with(conn, "ticket", TRIGGERS, since=since, until=until)
        return sorted(int(i) for i in found)
    open_then = select(tickets.c.id).where(
        tickets.c.created_at < until,
        or_(tickets.c.status.in_([s.value for s in OPEN_STATUSES]), tickets.c.updated_at >= since),
    )
    return sorted(int(r[0]) for r in conn.execute(open_then))


def _as_now(conn: Connection, ticket_ids: list[int]) -> dict[int, tuple[str, str]]:
    """Each ticket's requester's address and its title, as they are now."""
    found = select(tickets.c.id, users.c.email, tickets.c.title).join(users, users.c.id == tickets.c.requester_id)
    return {int(r[0]): (str(r[1]), str(r[2])) for r in conn.execute(found.where(tickets.c.id.in_(ticket_ids)))}


def _batches(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), _BATCH):
        yield ids[start : start + _BATCH]


def simulate(conn: Connection, *, spec: RuleCreate, since: datetime, until: datetime) -> dict[str, Any]:
    """What the rule `spec` would have done from `since` to `until`, ticket by ticket, beside what was done."""
    rule = {
        "kind": spec.kind,
        "conditions": conditions_json(spec.conditions),
        "actions": actions_json(spec.actions),
    }
    counts = dict.fromkeys(ACTIONS, 0)
    matched, evaluated_tickets, evaluated_points = 0, 0, 0
    sample: list[dict[str, Any]] = []
    candidates = _candidates(conn, rule, since, until) if since < until else []  # an empty period holds nothing
    for batch in _batches(candidates):
        histories = event_log.timelines(conn, "ticket", [str(i) for i in batch], before=until)
        now = _as_now(conn, batch)
        for ticket_id in batch:
            sender, title = now.get(ticket_id, ("", ""))
            history = histories[str(ticket_id)]
            outcome = replay_ticket(rule, history, since=since, until=until, requester_email=sender or None)
            if outcome is None or not outcome.evaluated:
                continue
            evaluated_tickets += 1
            evaluated_points += outcome.evaluated
            if not outcome.would:
                continue
            matched += 1
            for would in outcome.would:
                counts[would["action"]["type"]] += 1
            if len(sample) < SAMPLE_SIZE:
                sample.append({"ticket_id": ticket_id, "title": title, "would": outcome.would, "did": outcome.did})
    return {
        "matched": matched,
        "actions": counts,
        "sample": sample,
        "tickets_evaluated": evaluated_tickets,
        "evaluations": evaluated_points,
        "since": since,
        "until": until,
    }
