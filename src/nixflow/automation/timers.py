"""The time-based automation: SLA warnings and breaches, and escalation rules, run by the periodic job.

The job reads only due tickets, through the index on `tickets.next_check_at`, so its cost grows with due
work, not with open tickets. Each ticket is claimed by a conditional write (`next_check_at` unchanged since
it was read), so a second or concurrent run of the job finds nothing to do: every event fires once. A batch's
escalation rules run with their tickets' saves held and written together (`check_batch`).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update

from nixflow.automation.cycle import pending_actions
from nixflow.automation.engine import run_rule
from nixflow.automation.round_robin import CounterStore
from nixflow.domain import conditions, sla
from nixflow.domain.envelope import EventContext
from nixflow.domain.tickets import Status
from nixflow.domain.values import Priority
from nixflow.ids import uuid7
from nixflow.services import rules as rule_store
from nixflow.services import ticket_sla
from nixflow.services import tickets as ticket_service
from nixflow.services.users import with_requester_email
from nixflow.store.db import Database, Tx
from nixflow.store.fast import Fast
from nixflow.store.tables import SYSTEM_USER_ID, tickets
from nixflow.store.writer import Writer

log = logging.getLogger(__name__)

_JOB_CTX = EventContext(correlation_id="timers", actor_id=SYSTEM_USER_ID, source="timers")


def due_ticket_ids(conn: Any, now: datetime, limit: int) -> list[int]:
    """Tickets with time-based work due at `now`, most overdue first (an index range scan)."""
    rows = conn.execute(
        select(tickets.c.id).where(tickets.c.next_check_at <= now).order_by(tickets.c.next_check_at).limit(limit)
    )
    return [int(r[0]) for r in rows]


# The claim: a conditional write that only the first run at this due time can make. Around `tickets._save` and
# without a version bump on purpose: it writes only SLA bookkeeping no client sets, and is conditional on the
# version it read (docs/architecture.md, "One Ticket that applies its events", says why and what is left open).
_CLAIM = Fast(
    update(tickets)
    .where(
        tickets.c.id == bindparam("b_id"),
        tickets.c.version == bindparam("b_version"),
        tickets.c.next_check_at == bindparam("b_scheduled", type_=tickets.c.next_check_at.type),
    )
    .values(
        sla_state=bindparam("v_sla_state", type_=tickets.c.sla_state.type),
        next_check_at=bindparam("v_next_check_at", type_=tickets.c.next_check_at.type),
    )
)


@dataclasses.dataclass(frozen=True)
class _Due:
    """What is due for one ticket, worked out before it is claimed."""

    ticket: dict[str, Any]
    policy: sla.Policy | None
    alarms: list[sla.Alarm]
    escalations: list[Any]
    state: dict[str, Any]  # the SLA state once the alarms (and shadowed escalations) have fired
    reached: int  # the escalation level once the escalations due have fired

    def claim(self, tx: Tx) -> dict[str, Any]:
        """The claim's parameters: unchanged since read, at the time it was due; the next check as if the
        escalations due had fired (a rule that fails is not due again)."""
        scheduled = {**self.ticket, "sla_state": self.state, "escalation_level": self.reached}
        return {
            "b_id": self.ticket["id"],
            "b_version": self.ticket["version"],
            "b_scheduled": self.ticket["next_check_at"],
            "v_sla_state": self.state,
            "v_next_check_at": ticket_sla.next_check_at(tx, scheduled),
        }


def _due(tx: Tx, ticket_id: int) -> _Due | None:
    """What fires for one ticket at `tx.now`; None if nothing is due (another run got here first)."""
    ticket = ticket_service.current(tx, ticket_id=ticket_id)
    scheduled = ticket["next_check_at"]
    if scheduled is None or scheduled > tx.now:
        return None
    resolved = ticket["status"] in (Status.RESOLVED.value, Status.CLOSED.value)
    policy = ticket_sla.policy_for(tx, ticket)
    alarms, state = sla.due_alarms(
        policy,
        ticket_sla.sla_clock(tx, ticket),
        ticket["sla_state"] or {},
        ticket["first_response_at"],
        resolved,
        tx.now,
    )
    escalations: list[Any] = []
    if not resolved:
        active = rule_store.active_rules_of(tx, kinds=("escalation",))
        escalations, _ = conditions.escalation_due(active, with_requester_email(tx, ticket), tx.now)
    shadowed = [r["id"] for r in escalations if r["mode"] == "shadow"]
    if shadowed:
        state = {**state, "escalations_shadowed": [*state.get("escalations_shadowed", []), *shadowed]}
    reached = max(
        [
            ticket["escalation_level"],
            *(conditions.rule_level(r["actions"]) for r in escalations if r["mode"] != "shadow"),
        ]
    )
    return _Due(ticket, policy, alarms, escalations, state, reached)


def _alarm(tx: Tx, due: _Due, alarm: sla.Alarm) -> None:
    data: dict[str, Any] = {"ticket_id": int(due.ticket["id"]), "target": alarm.target, "due_at": alarm.due_at}
    if alarm.kind == "warning":
        assert due.policy is not None
        data["percent"] = due.policy.warning_percent
    tx.emit(
        f"sla.{alarm.kind}",
        aggregate_type="ticket",
        aggregate_id=int(due.ticket["id"]),
        data=data,
        priority=Priority(due.ticket["priority"]),
    )


def _alarms(tx: Tx, dues: list[_Due], cycles: list[str]) -> None:
    """Emit the alarms of claimed tickets, each ticket's in a correlation of its own (`cycles`), round by
    round (every ticket's first, then every ticket's second, ...): a batch's breaches stand side by side in the
    log and their handlers take them at once (`Handler.many`); each ticket's own events keep their order."""
    contexts = [tx.child(dataclasses.replace(tx.ctx, correlation_id=c, source="sla")) for c in cycles]
    for round_ in range(max((len(due.alarms) for due in dues), default=0)):
        for due, ttx in zip(dues, contexts, strict=True):
            if round_ < len(due.alarms):
                _alarm(ttx, due, due.alarms[round_])


def _escalate(tx: Tx, due: _Due, cycle: str, counters: CounterStore, *, guarded: bool = True) -> None:
    """Run the escalation rules due for a claimed ticket, in the correlation of its alarms."""
    ticket_id = int(due.ticket["id"])
    etx = tx.child(dataclasses.replace(tx.ctx, correlation_id=cycle, source="escalation"))
    for rule in due.escalations:
        actions = pending_actions(rule, ticket_service.current(tx, ticket_id=ticket_id))
        if actions:
            run_rule(etx, rule, ticket_id, actions, counters, trigger_event_id=None, guarded=guarded)


def _fired(dues: list[_Due]) -> int:
    return sum(len(due.alarms) + len(due.escalations) for due in dues)


def check_ticket(tx: Tx, ticket_id: int, counters: CounterStore) -> int:
    """Fire the SLA alarms and escalation rules due for one ticket at `tx.now`; return how many fired."""
    due = _due(tx, ticket_id)
    if due is None:
        return 0
    claim = due.claim(tx)
    if _CLAIM.rowcount(tx.conn, claim) != 1:
        return 0
    ticket_service.remember(
        tx, {**due.ticket, "sla_state": claim["v_sla_state"], "next_check_at": claim["v_next_check_at"]}
    )
    cycle = uuid7()
    _alarms(tx, [due], [cycle])
    _escalate(tx, due, cycle, counters)
    return _fired([due])


class _Contended(Exception):
    """Another run claimed a ticket of the batch first."""


# What an escalation rule may do for its ticket's saves to be held and written with the batch's (`_held`).
_HELD_ACTIONS = frozenset({"escalate", "notify", "set_priority", "assign"})


def _held(tx: Tx, due: _Due) -> bool:
    """Whether the ticket's escalations can run with its saves held: every action of every rule due is one that
    cannot fail on a claimed ticket (an assignee is checked once per batch), so no rule needs a savepoint."""
    return all(
        action["type"] in _HELD_ACTIONS
        and (action["type"] != "assign" or ticket_service.assignable(tx, int(action["user_id"])))
        for rule in due.escalations
        if rule["mode"] != "shadow"
        for action in rule["actions"]
    )


def check_batch(tx: Tx, ticket_ids: list[int], counters: CounterStore) -> int:
    """`check_ticket` for each ticket, set-based; raises `_Contended` if another writer changed a ticket of the
    batch since it was read: roll back, go ticket by ticket.

    A ticket whose escalations can run with its saves held (`_held`) is written once, claim and escalations
    together, in one statement per set of changed columns for the batch (`tickets.held_saves`); the others are
    claimed by one executemany and their rules run one by one, each in a savepoint (`run_rule`)."""
    found = [_due(tx, ticket_id) for ticket_id in ticket_ids]
    dues = [due for due in found if due is not None]
    if not dues:
        return 0
    if len(dues) == 1 or not tx.conn.dialect.supports_sane_multi_rowcount:
        return sum(check_ticket(tx, int(due.ticket["id"]), counters) for due in dues)
    cycles = {int(due.ticket["id"]): uuid7() for due in dues}
    eligible = [_held(tx, due) for due in dues]
    held = [due for due, ok in zip(dues, eligible, strict=True) if ok]
    alone = [due for due, ok in zip(dues, eligible, strict=True) if not ok]
    claims = [due.claim(tx) for due in alone]
    if _CLAIM.many(tx.conn, claims) != len(alone):
        raise _Contended
    for due, claim in zip(alone, claims, strict=True):
        ticket_service.remember(
            tx, {**due.ticket, "sla_state": claim["v_sla_state"], "next_check_at": claim["v_next_check_at"]}
        )
    with ticket_service.held_saves(tx) as saves:
        for due in held:
            saves.claim(tx, due.ticket, {"sla_state": due.state})
        _alarms(tx, dues, [cycles[int(due.ticket["id"])] for due in dues])
        for due in held:
            _escalate(tx, due, cycles[int(due.ticket["id"])], counters, guarded=False)
        if saves.write(tx) != len(held):
            raise _Contended
    for due in alone:
        _escalate(tx, due, cycles[int(due.ticket["id"])], counters)
    return _fired(dues)


class TimedAutomation:
    """The periodic job: SLA and escalation for every ticket that is due, in batches.

    `batched=False` checks every ticket on its own (the fallback, always): the same events and receipts, which
    `test_sla_tick_batch.py` compares with the batch's.
    """

    BATCH = 500
    MAX_ROUNDS = 20  # per tick; a ticket that keeps failing must not keep the job busy forever

    def __init__(self, *, db: Database, writer: Writer, counters: CounterStore, batched: bool = True) -> None:
        self.db = db
        self.writer = writer
        self.counters = counters
        self.batched = batched

    async def __call__(self, now: datetime) -> int:
        fired = 0
        for _ in range(self.MAX_ROUNDS):
            ids = await self.db.read(lambda conn: due_ticket_ids(conn, now, self.BATCH))
            if not ids:
                return fired
            fired += await self.check(ids, now)
            if len(ids) < self.BATCH:
                return fired
        return fired

    async def check(self, ids: list[int], now: datetime) -> int:
        """Fire what is due at `now` for these tickets, in one unit of work; return how many fired."""
        return await self.writer.run(functools.partial(self._batch, ids=ids, now=now), _JOB_CTX)

    def _batch(self, tx: Tx, *, ids: list[int], now: datetime) -> int:
        # The job runs "as of" `now` (the scheduler's time), which tests move at will.
        at = tx.at(now)
        ticket_service.load_many(at, ids)  # one read for the batch; each check then uses its copy
        if self.batched:
            try:
                # Nothing is expected to fail (a rule's failing action has a savepoint of its own, in `run_rule`):
                # one savepoint and one claim statement for the batch instead of one each per ticket.
                with at.savepoint():
                    return check_batch(at, ids, self.counters)
            except _Contended:
                pass  # a concurrent run got to a ticket first: each ticket claimed on its own finds which
            except Exception:
                log.warning("time-based automation: a ticket failed; the batch again, one savepoint per ticket")
            # The batch was rolled back (its writes and events): each ticket again, alone, so one that fails
            # cannot hold up the others.
            ticket_service.load_many(at, ids)
        fired = 0
        for ticket_id in ids:
            try:
                with at.savepoint():
                    fired += check_ticket(at, ticket_id, self.counters)
            except Exception:
                log.exception("time-based automation failed for ticket %s", ticket_id)
        return fired
