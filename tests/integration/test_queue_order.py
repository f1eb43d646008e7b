"""The ticket list in any column's order, paged by keyset cursors that stay exact over ties and missing values
(SQLite, and PostgreSQL + Redis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from tests.conftest import Harness, User

from nixflow.domain.tickets import Status
from nixflow.domain.values import Priority
from nixflow.services.ticket_order import SORT_NAMES
from nixflow.store.db import Tx
from nixflow.store.tables import tickets, users

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


async def _arrange(harness: Harness, requester: User, agents: list[User]) -> list[int]:
    """Nine tickets whose due times, update times, titles and assignees tie in groups, some without any."""
    ids = []
    for i in range(9):
        made = await harness.client.post(
            "/api/tickets",
            json={"title": f"Case {'ABC'[i % 3]}", "description": "", "priority": [p.value for p in Priority][i % 4]},
            headers=requester.headers,
        )
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])

    def shape(tx: Tx) -> None:
        for n, ticket_id in enumerate(ids):
            due = None if n % 4 == 3 else T0 + timedelta(hours=n % 2)  # ties, and no due date
            assignee = None if n % 3 == 0 else agents[n % 2].id
            status = [Status.NEW, Status.OPEN, Status.PENDING][n % 3].value
            tx.conn.execute(
                update(tickets)
                .where(tickets.c.id == ticket_id)
                .values(resolution_due=due, assignee_id=assignee, status=status, updated_at=T0 + timedelta(n // 3))
            )

    await harness.write(shape)
    return ids


def _expected(rows: list[dict[str, Any]], names: dict[int, str], sort: str) -> list[int]:
    key, descending = sort.lstrip("-"), sort.startswith("-")
    values = {
        "id": lambda r: r["id"],
        "created_at": lambda r: r["created_at"],
        "updated_at": lambda r: r["updated_at"],
        "due": lambda r: r["resolution_due"],
        "priority": lambda r: Priority(r["priority"]).rank,
        "status": lambda r: list(Status).index(Status(r["status"])),
        "title": lambda r: r["title"],
        "assignee": lambda r: names.get(r["assignee_id"]) if r["assignee_id"] is not None else None,
    }[key]
    present = sorted((r for r in rows if values(r) is not None), key=lambda r: (values(r), r["id"]), reverse=descending)
    missing = sorted((r for r in rows if values(r) is None), key=lambda r: r["id"], reverse=descending)
    return [r["id"] for r in present + missing]


async def _walk(harness: Harness, user: User, sort: str, limit: int) -> list[int]:
    seen: list[int] = []
    cursor = None
    for _ in range(20):
        params: dict[str, Any] = {"sort": sort, "limit": limit, "q": "Case"}
        if cursor:
            params["cursor"] = cursor
        page = await harness.client.get("/api/tickets", params=params, headers=user.headers)
        assert page.status_code == 200, page.text
        seen += [t["id"] for t in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the pages never ended")


async def test_every_order_pages_exactly_over_ties_and_missing_values(harness: Harness, requester: User) -> None:
    agents = [await harness.user("agent", name="Zed"), await harness.user("agent", name="Ann")]
    ids = await _arrange(harness, requester, agents)

    def read(conn: Any) -> tuple[list[dict[str, Any]], dict[int, str]]:
        rows = [dict(r._mapping) for r in conn.execute(select(tickets).where(tickets.c.id.in_(ids)))]
        names = {int(r[0]): str(r[1]) for r in conn.execute(select(users.c.id, users.c.name))}
        return rows, names

    rows, names = await harness.nixflow.db.read(read)
    for sort in SORT_NAMES:
        expected = _expected(rows, names, sort)
        for limit in (2, 4):  # a page boundary inside a tie and between ties
            assert await _walk(harness, agents[0], sort, limit) == expected, (sort, limit)
    # No due date comes last in both directions; the default is today's newest first.
    for sort in ("due", "-due"):
        assert (await _walk(harness, agents[0], sort, 50))[-2:] == [
            i for i in sorted(ids, reverse=sort.startswith("-")) if ids.index(i) % 4 == 3
        ]
    default = (await harness.client.get("/api/tickets", params={"q": "Case"}, headers=agents[0].headers)).json()
    assert [t["id"] for t in default["items"]] == sorted(ids, reverse=True)


@pytest.mark.parametrize("params", [{"sort": "due_date"}, {"sort": "-"}, {"sort": "due", "cursor": "!!"}])
async def test_a_bad_sort_or_cursor_is_422(harness: Harness, agent: User, params: dict[str, str]) -> None:
    answer = await harness.client.get("/api/tickets", params=params, headers=agent.headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_a_cursor_of_another_order_is_refused(harness: Harness, requester: User, agent: User) -> None:
    for title in ("one", "two", "three"):
        made = await harness.client.post("/api/tickets", json={"title": title}, headers=requester.headers)
        assert made.status_code == 201
    page = (
        await harness.client.get("/api/tickets", params={"sort": "title", "limit": 1}, headers=agent.headers)
    ).json()
    other = await harness.client.get(
        "/api/tickets", params={"sort": "-due", "cursor": page["next_cursor"]}, headers=agent.headers
    )
    assert other.status_code == 422
    assert "sort 'title'" in other.json()["detail"]
