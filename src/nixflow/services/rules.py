"""The rules service: stored rules, read in position order, changed by admins with an event each."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, delete, func, insert, select, update

from nixflow.domain.errors import Conflict, NotFound
from nixflow.domain.rules import RuleCreate, RuleUpdate, actions_json, conditions_json
from nixflow.domain.tickets import OPEN_STATUSES
from nixflow.store import config_cache
from nixflow.store.db import Tx, insert_returning_id
from nixflow.store.tables import events, rules, tickets

EVENT_KINDS = ("prioritization", "assignment")
# The events that say a rule fired on a ticket (applied, trialled in shadow, or tried and failed).
OUTCOMES = ("automation.rule_applied", "automation.rule_shadowed", "automation.rule_failed")


def _row(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


def list_rules(
    conn: Connection, *, kinds: Sequence[str] | None = None, active_only: bool = False
) -> list[dict[str, Any]]:
    """Rules in the order they run: by position, then id."""
    query = select(rules).order_by(rules.c.position, rules.c.id)
    if kinds is not None:
        query = query.where(rules.c.kind.in_(kinds))
    if active_only:
        query = query.where(rules.c.active.is_(True))
    return [_row(r) for r in conn.execute(query)]


def active_rules_of(tx: Tx, *, kinds: Sequence[str]) -> list[dict[str, Any]]:
    """The active rules of some kinds, in position order, from the process's cache of configuration (shared: do
    not change them)."""
    read = functools.partial(list_rules, kinds=tuple(kinds), active_only=True)
    return config_cache.cached(tx, ("active_rules", tuple(kinds)), ("rules",), read)


def fired_in_log(conn: Connection, *, correlation_id: str, ticket_id: int, since: datetime) -> set[int]:
    """The rules the log says fired on a ticket in a cycle (its correlation id), from `since` on."""
    rows = conn.execute(
        select(events.c.data).where(
            events.c.correlation_id == correlation_id,
            events.c.aggregate_type == "ticket",
            events.c.aggregate_id == str(ticket_id),
            events.c.event_type.in_(OUTCOMES),
            events.c.timestamp >= since,
        )
    )
    return {int(row[0]["rule_id"]) for row in rows}


def get_rule(conn: Connection, *, rule_id: int) -> dict[str, Any]:
    """One rule; NotFound if there is none."""
    row = conn.execute(select(rules).where(rules.c.id == rule_id)).first()
    if row is None:
        raise NotFound(f"rule {rule_id} not found")
    return _row(row)


def _reschedule(tx: Tx, *kinds: str) -> None:
    """After an escalation rule changed, have the periodic job look at every open ticket again once.

    Around `tickets._save`, no version bump: `next_check_at` is the job's schedule, not ticket state."""
    if "escalation" not in kinds:
        return
    tx.conn.execute(
        update(tickets)
        .where(tickets.c.status.in_([s.value for s in OPEN_STATUSES]))
        .where((tickets.c.next_check_at.is_(None)) | (tickets.c.next_check_at > tx.now))
        .values(next_check_at=tx.now)
    )
    tx.memo.clear()  # copies of tickets read earlier in this unit have another `next_check_at` now


def _emit(tx: Tx, event_type: str, rule: dict[str, Any], **data: Any) -> None:
    """Every change of a rule ends here: rules read earlier in this unit of work are stale now (every process's
    cache of them is told by the trigger on `rules`: `store.config_cache`)."""
    tx.memo.clear()
    tx.emit(
        event_type,
        aggregate_type="rule",
        aggregate_id=rule["id"],
        data={"rule_id": rule["id"], "rule_name": rule["name"], **data},
    )


def create_rule(tx: Tx, *, spec: RuleCreate) -> dict[str, Any]:
    """Store a new rule (at the end of the order unless a position is given); emits `automation.rule_created`."""
    position = spec.position
    if position is None:
        position = int(tx.conn.execute(select(func.coalesce(func.max(rules.c.position), 0))).scalar_one()) + 10
    values: dict[str, Any] = {
        "name": spec.name.strip(),
        "kind": spec.kind,
        "active": spec.active,
        "position": position,
        "mode": spec.mode,
        "rollout_percent": spec.rollout_percent,
        "conditions": conditions_json(spec.conditions),
        "actions": actions_json(spec.actions),
        "created_at": tx.now,
        "updated_at": tx.now,
    }
    rule = {**values, "id": insert_returning_id(tx.conn, insert(rules), values)}
    _emit(tx, "automation.rule_created", rule, changes=None)
    _reschedule(tx, rule["kind"])
    return rule


def update_rule(tx: Tx, *, rule_id: int, changes: RuleUpdate) -> dict[str, Any]:
    """Change a rule; the merged rule is validated as a whole (409 if it does not fit).

    Emits `rule_updated` (and `rule_enabled/disabled`)."""
    before = get_rule(tx.conn, rule_id=rule_id)
    given = changes.model_dump(mode="json", exclude_unset=True)
    given = {k: v for k, v in given.items() if v is not None}
    fields = ("name", "kind", "active", "position", "mode", "rollout_percent", "conditions", "actions")
    merged = {**{k: before[k] for k in fields}, **given}
    try:
        spec = RuleCreate.model_validate(merged)
    except ValidationError as exc:
        errors = [{"loc": ["body", *err["loc"]], "msg": err["msg"], "type": err["type"]} for err in exc.errors()]
        first = errors[0]
        # Each field was valid on its own (RuleUpdate): what is left is a change that does not fit the rule as it is.
        raise Conflict(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}", errors=errors) from None
    values = {
        "name": spec.name.strip(),
        "kind": spec.kind,
        "active": spec.active,
        "position": spec.position,
        "mode": spec.mode,
        "rollout_percent": spec.rollout_percent,
        "conditions": conditions_json(spec.conditions),
        "actions": actions_json(spec.actions),
    }
    diff = {k: {"old": before[k], "new": v} for k, v in values.items() if before[k] != v}
    if not diff:
        return before
    tx.conn.execute(update(rules).where(rules.c.id == rule_id).values(updated_at=tx.now, **values))
    after: dict[str, Any] = {**before, **values, "updated_at": tx.now}
    _reschedule(tx, before["kind"], after["kind"])
    _emit(tx, "automation.rule_updated", after, changes=diff)
    if "active" in diff:
        _emit(
            tx,
            "automation.rule_enabled" if after["active"] else "automation.rule_disabled",
            after,
            by_id=tx.ctx.actor_id,
        )
    return after


def set_active(tx: Tx, *, rule_id: int, active: bool) -> dict[str, Any]:
    """Enable or disable a rule."""
    return update_rule(tx, rule_id=rule_id, changes=RuleUpdate(active=active))


def delete_rule(tx: Tx, *, rule_id: int) -> None:
    """Remove a rule; emits `automation.rule_deleted`."""
    rule = get_rule(tx.conn, rule_id=rule_id)
    tx.conn.execute(delete(rules).where(rules.c.id == rule_id))
    _emit(tx, "automation.rule_deleted", rule, changes=None)
    _reschedule(tx, rule["kind"])
