"""Unread markers: a ticket is `new` to a staff user until they open it, and `updated` when someone else changed
it since (SQLite, and PostgreSQL + Redis)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from tests.conftest import Harness, User
from tests.integration.test_pages import page_headers

from nixflow.store.tables import ticket_reads


async def _marks(harness: Harness, user: User) -> dict[int, Any]:
    page = await harness.client.get("/api/tickets", headers=user.headers)
    assert page.status_code == 200, page.text
    return {t["id"]: t["unread"] for t in page.json()["items"]}


async def _comment(harness: Harness, user: User, ticket_id: int, body: str) -> None:
    made = await harness.client.post(f"/api/tickets/{ticket_id}/comments", json={"body": body}, headers=user.headers)
    assert made.status_code == 201, made.text


def _queue_marks(html: str) -> dict[int, str]:
    rows = re.findall(r'<tr data-ticket-id="(\d+)">(.*?)</tr>', html, re.S)
    found = {int(i): re.search(r'data-unread="(\w+)"', row) for i, row in rows}
    return {i: m.group(1) for i, m in found.items() if m}


async def test_new_until_opened_then_updated_only_by_someone_else(
    harness: Harness, requester: User, agent: User, admin: User
) -> None:
    made = await harness.client.post("/api/tickets", json={"title": "Printer jams"}, headers=requester.headers)
    ticket_id = made.json()["id"]
    assert (await _marks(harness, agent))[ticket_id] == "new"
    assert (await _marks(harness, requester))[ticket_id] is None  # requesters get no markers

    opened = await harness.client.get(f"/api/tickets/{ticket_id}", headers=agent.headers)
    assert opened.status_code == 200
    assert (await _marks(harness, agent))[ticket_id] is None
    assert (await _marks(harness, admin))[ticket_id] == "new"  # per user

    await _comment(harness, agent, ticket_id, "Looking at it")  # their own change is no news to them
    assert (await _marks(harness, agent))[ticket_id] is None
    await _comment(harness, requester, ticket_id, "It jams again")
    assert (await _marks(harness, agent))[ticket_id] == "updated"

    # The ticket page counts as a look too; a look at an unchanged ticket writes nothing.
    page = await harness.client.get(f"/tickets/{ticket_id}", headers=page_headers(agent))
    assert page.status_code == 200
    assert (await _marks(harness, agent))[ticket_id] is None

    def looked(conn: Any) -> list[Any]:
        return list(conn.execute(select(ticket_reads.c.seen_at).where(ticket_reads.c.user_id == agent.id)))

    before = await harness.nixflow.db.read(looked)
    await harness.client.get(f"/api/tickets/{ticket_id}", headers=agent.headers)
    assert await harness.nixflow.db.read(looked) == before


async def test_the_queue_page_shows_the_markers(harness: Harness, requester: User, agent: User) -> None:
    ids = []
    for title in ("Screen flickers", "Mouse dead"):
        made = await harness.client.post("/api/tickets", json={"title": title}, headers=requester.headers)
        ids.append(made.json()["id"])
    await harness.client.get(f"/api/tickets/{ids[0]}", headers=agent.headers)
    html = (await harness.client.get("/queue", headers=page_headers(agent))).text
    assert _queue_marks(html) == {ids[1]: "new"}
    await _comment(harness, requester, ids[0], "Still flickering")
    html = (await harness.client.get("/queue", headers=page_headers(agent))).text
    assert _queue_marks(html) == {ids[0]: "updated", ids[1]: "new"}
