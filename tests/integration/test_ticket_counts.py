"""Counts beside saved views and the queue's filter: read from the maintained ticket counters (migration 0030)
when the filter is on status, priority, category and assignee; counted up to a cap otherwise ("1,000+")."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Connection, func, insert, select
from tests.conftest import Harness, User

from nixflow.domain.values import Role
from nixflow.services import ticket_queries
from nixflow.services.users import Principal
from nixflow.store.tables import NULL_ID, ticket_counts, tickets


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _counters(conn: Connection) -> Counter[tuple[str, str, int, int]]:
    c = ticket_counts.c
    keys = (c.status, c.priority, c.category_id, c.assignee_id)
    rows = conn.execute(select(*keys, func.sum(c.n)).group_by(*keys))
    return Counter({(s, p, cat, a): int(n) for s, p, cat, a, n in rows if n})


def _table(conn: Connection) -> Counter[tuple[str, str, int, int]]:
    t = tickets.c
    rows = conn.execute(select(t.status, t.priority, t.category_id, t.assignee_id))
    return Counter((s, p, NULL_ID if c is None else c, NULL_ID if a is None else a) for s, p, c, a in rows)


async def _workload(h: Harness, admin: User, requester: User) -> tuple[int, User]:
    """Tickets created, assigned by round-robin, reassigned, moved between categories, reprioritized, solved
    and reopened."""
    network = await _ok(await h.client.post("/api/categories", json={"name": "Network"}, headers=admin.headers), 201)
    agent = await h.user("agent", category_ids=[network["id"]])
    await _ok(
        await h.client.patch(f"/api/categories/{network['id']}", json={"agent_ids": [agent.id]}, headers=admin.headers)
    )
    made = []
    for title, category in (("Core switch is down", network["id"]), ("printer", None), ("VPN", network["id"])):
        body = {"title": title, **({"category_id": category} if category else {})}
        made.append(await _ok(await h.client.post("/api/tickets", json=body, headers=requester.headers), 201))
    _, second, third = made
    ticket = await _ok(await h.client.get(f"/api/tickets/{second['id']}", headers=admin.headers))
    body = {"version": ticket["version"], "assignee_id": agent.id, "priority": "high", "category_id": network["id"]}
    await _ok(await h.client.patch(f"/api/tickets/{second['id']}", json=body, headers=admin.headers))
    for status in ("open", "resolved", "open", "pending"):
        await _ok(
            await h.client.post(
                f"/api/tickets/{third['id']}/transition", json={"status": status}, headers=admin.headers
            )
        )
    await h.settle()
    return network["id"], agent


async def test_counters_follow_every_change_and_view_counts_read_them(
    harness: Harness, admin: User, requester: User
) -> None:
    h = harness
    network, agent = await _workload(h, admin, requester)
    counters, table = await h.nixflow.db.read(lambda conn: (_counters(conn), _table(conn)))
    assert counters == table and sum(table.values()) == 3 and len(table) >= 2
    simple = {"statuses": ["new", "open", "pending"], "category_id": network, "assignee_id": agent.id}
    body = {"name": "Mine", "filters": simple}
    view = await _ok(await h.client.post("/api/views", json=body, headers=agent.headers), 201)
    assert (view["count"], view["count_more"]) == (3, False)
    # The counters answer: a drift planted in them shows, which a COUNT over the tickets would not.
    planted = {"status": "open", "priority": "low", "category_id": network, "assignee_id": agent.id}
    await h.write(lambda tx: tx.conn.execute(insert(ticket_counts).values(**planted, shard=99, n=10)))
    again = await _ok(await h.client.get(f"/api/views/{view['id']}", headers=agent.headers))
    assert (again["count"], again["count_more"]) == (13, False)
    body = {"name": "Text", "filters": {"q": "r"}}
    texts = await _ok(await h.client.post("/api/views", json=body, headers=agent.headers), 201)
    assert (texts["count"], texts["count_more"]) == (2, False)  # "Core switch is down", "printer": the tickets
    staff = Principal(id=agent.id, role=Role.AGENT, email=agent.email, name="Agent")
    capped = await h.nixflow.db.read(
        lambda conn: ticket_queries.count(conn, viewer=staff, flt=ticket_queries.TicketFilter(q="r"), cap=1)
    )
    assert (capped.n, capped.more, str(capped)) == (1, True, "1+")
