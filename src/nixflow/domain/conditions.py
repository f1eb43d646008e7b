"""Evaluating stored (already validated) rules against a ticket: facts, operators, rollout, timing. Pure."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

Facts = Mapping[str, Any]

# Where each time field starts counting; `minutes_unassigned` only runs while nobody is assigned.
_TIME_BASE = {"minutes_open": "created_at", "minutes_unassigned": "created_at", "minutes_since_update": "updated_at"}


def facts_of(ticket: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """What conditions can look at, for a ticket at `now`."""

    def minutes_since(moment: datetime) -> float:
        return (now - moment).total_seconds() / 60

    return {
        "title": ticket["title"],
        "description": ticket["description"],
        "text": f"{ticket['title']}\n{ticket['description']}",
        "priority": ticket["priority"],
        "status": ticket["status"],
        "category_id": ticket["category_id"],
        "requester_id": ticket["requester_id"],
        "assignee_id": ticket["assignee_id"],
        "organization_id": ticket.get("organization_id"),  # the organization it was opened under
        "minutes_open": minutes_since(ticket["created_at"]),
        "minutes_unassigned": 0.0 if ticket["assignee_id"] is not None else minutes_since(ticket["created_at"]),
        "minutes_since_update": minutes_since(ticket["updated_at"]),
        "tag": _tags(ticket),
        **_origin(ticket),
        "custom": ticket.get("fields") or {},
    }


def _origin(ticket: Mapping[str, Any]) -> dict[str, Any]:
    """Where the ticket comes from: the requester's address and its domain (lower case), and its channel.

    The address is not ticket state: whoever evaluates rules puts `requester_email` beside the ticket's fields.
    """
    sender = str(ticket.get("requester_email") or "").lower() or None
    domain = sender.rpartition("@")[2] if sender else None
    return {"sender": sender, "sender_domain": domain, "channel": ticket.get("channel")}


def _tags(ticket: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(ticket.get("tags") or ())


@lru_cache(maxsize=1024)
def _word_pattern(word: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(word.strip()) + r"(?!\w)", re.IGNORECASE)


def contains_word(text: str, words: str | Sequence[str]) -> bool:
    """Whether `text` holds any of `words` as a whole word, in any case."""
    candidates = [words] if isinstance(words, str) else list(words)
    return any(_word_pattern(w).search(text) for w in candidates)


def _holds(condition: Mapping[str, Any], facts: Facts) -> bool:
    return _holds_for(condition, _fact(condition, facts.get(condition["field"])))


def _fact(condition: Mapping[str, Any], value: Any) -> Any:
    """A condition's fact: a custom field's value by its `key` (a multi select as a set, like tags)."""
    if condition["field"] != "custom":
        return value
    found = (value or {}).get(condition["key"])
    if condition["op"] == "is_null":
        return found
    return frozenset(found) if isinstance(found, list) else found


def _holds_for(condition: Mapping[str, Any], actual: Any) -> bool:
    """Whether `condition` holds when its field has the value `actual`."""
    op = condition["op"]
    value: Any = condition.get("value")
    if isinstance(actual, frozenset):  # the ticket's tags: has this one, or any of these
        has = bool(actual & set(value)) if op in ("in", "not_in") else value in actual
        return has == (op in ("equals", "in"))
    if op == "is_null":
        return (actual is None) == bool(value if value is not None else True)
    if op == "equals":
        return bool(actual == value)
    if op == "not_equals":
        return bool(actual != value)
    if op == "in":
        return actual in value
    if op == "not_in":
        return actual not in value
    if actual is None:
        return False
    if op == "contains_word":
        return contains_word(str(actual), value)
    if op == "contains":
        needles = [value] if isinstance(value, str) else value
        return any(n.lower() in str(actual).lower() for n in needles)
    if op == "gte":
        return bool(actual >= value)
    if op == "lte":
        return bool(actual <= value)
    raise ValueError(f"unknown operator {op!r}")


def matches(conditions: Mapping[str, Any], facts: Facts) -> bool:
    """Whether every `all` condition and at least one `any` condition hold (absent lists do not constrain)."""
    every = conditions.get("all") or []
    some = conditions.get("any") or []
    return all(_holds(c, facts) for c in every) and (not some or any(_holds(c, facts) for c in some))


def in_rollout(rule_id: int, ticket_id: int, percent: int) -> bool:
    """Whether a rule at `percent` rollout applies to a ticket: a stable hash, the same answer every time."""
    if percent >= 100:
        return True
    if percent <= 0:
        return False
    digest = hashlib.sha256(f"{rule_id}:{ticket_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100 < percent


def _threshold(condition: Mapping[str, Any], ticket: Mapping[str, Any]) -> datetime | None:
    """When a time condition starts to hold (None: it never will as things stand)."""
    field = condition["field"]
    if field == "minutes_unassigned" and ticket["assignee_id"] is not None:
        return None
    moment: datetime = ticket[_TIME_BASE[field]]
    return moment + timedelta(minutes=float(condition["value"]))


# The facts time does not change: each is the ticket's own field, but `text`.
_STATIC_FACTS = frozenset(
    ("title", "description", "text", "priority", "status", "category_id", "requester_id", "assignee_id")
) | {"organization_id"}


def _static_fact(ticket: Mapping[str, Any], field: str) -> Any:
    """`facts_of(ticket, ...)[field]` for a field time does not change (None for one conditions cannot name)."""
    if field == "text":
        return f"{ticket['title']}\n{ticket['description']}"
    if field == "tag":
        return _tags(ticket)
    if field in ("sender", "sender_domain", "channel"):
        return _origin(ticket)[field]
    if field == "custom":
        return ticket.get("fields") or {}
    return ticket.get(field) if field in _STATIC_FACTS else None


def _earliest(ticket: Mapping[str, Any]) -> datetime:
    tz = ticket["created_at"].tzinfo
    return _MIN_UTC if tz is UTC else datetime.min.replace(tzinfo=tz)


_MIN_UTC = datetime.min.replace(tzinfo=UTC)


def ready_at(conditions: Mapping[str, Any], ticket: Mapping[str, Any]) -> datetime | None:
    """The earliest instant the rule's conditions can all hold; None if they never will as things stand.

    Conditions that time does not change (priority, category, status, ...) are checked now: a rule for
    critical tickets never wakes a normal one (every change of the ticket computes this again). Growing
    (`gte`) time conditions give the instant they start to hold; other time conditions are checked when
    that instant comes.
    """
    return _ready_at(conditions, ticket, _earliest(ticket))


def _start(condition: Mapping[str, Any], ticket: Mapping[str, Any], earliest: datetime) -> datetime | None:
    """When one condition starts to hold (`earliest`: as soon as time matters), None: never as things stand."""
    field = condition["field"]
    if field not in _TIME_BASE:
        return earliest if _holds_for(condition, _fact(condition, _static_fact(ticket, field))) else None
    if condition["op"] == "gte":
        return _threshold(condition, ticket)
    return earliest


def _ready_at(conditions: Mapping[str, Any], ticket: Mapping[str, Any], earliest: datetime) -> datetime | None:
    latest = earliest
    for condition in conditions.get("all") or ():
        moment = _start(condition, ticket, earliest)
        if moment is None:
            return None
        if moment > latest:
            latest = moment
    if conditions.get("any"):
        some = [m for m in (_start(c, ticket, earliest) for c in conditions["any"]) if m is not None]
        if not some:
            return None
        latest = max(latest, min(some))
    return latest


def rule_level(actions: Sequence[Mapping[str, Any]]) -> int:
    """The escalation level a rule's actions reach."""
    level = 0
    for action in actions:
        if action["type"] == "escalate" and int(action["level"]) > level:
            level = int(action["level"])
    return level


def escalation_due(
    rules: Sequence[Mapping[str, Any]], ticket: Mapping[str, Any], now: datetime
) -> tuple[list[Mapping[str, Any]], datetime | None]:
    """The escalation rules due for a ticket at `now`, and the next instant one may become due."""
    due: list[Mapping[str, Any]] = []
    upcoming: datetime | None = None
    shadowed = (ticket["sla_state"] or {}).get("escalations_shadowed") or ()
    level, ticket_id, earliest = ticket["escalation_level"], ticket["id"], _earliest(ticket)
    facts: dict[str, Any] | None = None
    for rule in rules:
        if rule["mode"] == "shadow":
            if rule["id"] in shadowed:
                continue
        elif rule_level(rule["actions"]) <= level:
            continue
        # No id yet (a ticket being created): whether a partial rollout applies is decided when it is due.
        if ticket_id is not None and not in_rollout(rule["id"], ticket_id, rule["rollout_percent"]):
            continue
        moment = _ready_at(rule["conditions"], ticket, earliest)
        if moment is None:
            continue
        if moment > now:
            upcoming = moment if upcoming is None or moment < upcoming else upcoming
            continue
        facts = facts if facts is not None else facts_of(ticket, now)
        if matches(rule["conditions"], facts):
            due.append(rule)
    return due, upcoming
