"""A grown helpdesk written straight into the tables, for the plan tests: enough rows, and the values the tests
filter by rare (one row in 50), so a planner with statistics walking the table newest first would read
thousands of rows for a page; only the filter's index serves it without sorting what matches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert

from nixflow.domain.tickets import Status
from nixflow.domain.values import Priority
from nixflow.store.tables import (
    categories,
    events,
    field_definitions,
    notifications,
    organization_members,
    organizations,
    ticket_field_values,
    ticket_tags,
    tickets,
    users,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TICKETS = 6_000
AGENTS = range(1, 11)  # ids 1-10; requesters 11-60
REQUESTERS = range(11, 61)
EVENT_TYPES = ("ticket.created", "ticket.commented")


def _user(user_id: int) -> dict[str, Any]:
    role = "agent" if user_id in AGENTS else "requester"
    email = f"{'agent' if role == 'agent' else 'user'}{user_id}@example.com"
    return {"id": user_id, "email": email, "name": f"User {user_id}", "role": role, "created_at": T0, "updated_at": T0}


def _rare(n: int, value: Any, common: Any) -> Any:
    """`value` on one ticket in 50, `common` on the others."""
    return value if n % 50 == 0 else common


def _ticket(n: int) -> dict[str, Any]:
    at = T0 + timedelta(minutes=n)
    return {
        "id": n,
        "title": f"Ticket {n}",
        "description": "grown for the plan tests",
        "status": _rare(n, Status.NEW.value, Status.OPEN.value if n % 2 else Status.CLOSED.value),
        "priority": _rare(n + 1, Priority.HIGH.value, Priority.NORMAL.value),
        "category_id": _rare(n + 2, 2, 1 + n % 2 * 2),
        "requester_id": 20 if n % 300 == 0 else 21 + n % 40,  # requester 20: a few tickets among many
        "assignee_id": _rare(n + 3, 3, _rare(n + 4, None, 5 + n % 2)),
        "organization_id": _rare(n + 5, 1, 7),
        "approval": "not_required",
        "version": 1,
        "created_at": at,
        "updated_at": at + timedelta(minutes=n % 97),
        "resolution_due": None if n % 7 == 0 else at + timedelta(hours=8 + n % 13),
        "sla_state": {},
    }


def _event(n: int) -> dict[str, Any]:
    kind = _rare(n, "notification.read", EVENT_TYPES[n % 2])
    ticket = 1 + n % TICKETS
    return {
        "event_id": f"00000000-0000-7000-8000-{n:012d}",
        "event_type": kind,
        "category": "ticket",
        "priority": "normal",
        "priority_rank": 2,
        "status": _rare(n + 1, "failed", "completed"),
        "timestamp": T0 + timedelta(seconds=n),
        "updated_at": T0 + timedelta(seconds=n),
        "aggregate_type": "ticket",
        "aggregate_id": str(ticket),
        "data": {"ticket_id": ticket},
        "metadata": {},
        "correlation_id": f"00000000-0000-7000-9000-{n // 3:012d}",
        "dedup_key": f"plan-{n}",
    }


def _notification(n: int) -> dict[str, Any]:
    return {
        "recipient_id": _rare(n, 3, 4),
        "kind": "comments",
        "ticket_id": 1 + n % TICKETS,
        "event_id": f"00000000-0000-7000-8000-{n:012d}",
        "event_type": "ticket.commented",
        "reason": "you are assigned",
        "title": f"Ticket {n}",
        "body": "a comment",
        "in_app": True,
        "created_at": T0 + timedelta(seconds=n),
        "read_at": None if n % 100 < 2 else T0 + timedelta(seconds=n + 60),
    }


def grow(conn: Connection) -> None:
    """Write the grown helpdesk: users, categories, organizations, tickets, tags, events, notifications."""
    conn.execute(insert(users), [_user(u) for u in (*AGENTS, *REQUESTERS)])
    conn.execute(insert(categories), [{"id": c, "name": f"Category {c}", "created_at": T0} for c in range(1, 9)])
    orgs = [
        {"id": o, "name": f"Org {o}", "name_key": f"org {o}", "created_at": T0, "updated_at": T0} for o in range(1, 11)
    ]
    conn.execute(insert(organizations), orgs)
    members = [{"organization_id": 1 + u % 10, "user_id": u, "created_at": T0} for u in REQUESTERS]
    conn.execute(insert(organization_members), members)
    conn.execute(insert(tickets), [_ticket(n) for n in range(1, TICKETS + 1)])
    conn.execute(insert(ticket_tags), [{"ticket_id": n, "tag": f"tag{n % 20}"} for n in range(1, TICKETS + 1)])
    site = {"entity": "ticket", "key": "site", "label": "Site", "type": "text", "options": [], "position": 1}
    site |= {"required_for_requesters": False, "required_for_agents": False, "requester_visible": True}
    site |= {"created_at": T0}
    conn.execute(insert(field_definitions).values(**site))
    sites = [{"ticket_id": n, "key": "site", "value_text": _rare(n, "berlin", "paris")} for n in range(1, TICKETS + 1)]
    conn.execute(insert(ticket_field_values), sites)
    conn.execute(insert(events), [_event(n) for n in range(1, 2 * TICKETS)])
    conn.execute(insert(notifications), [_notification(n) for n in range(1, TICKETS)])
