"""The workload page: each agent's open tickets by status and priority, overdue and solved, linked into the queue
(SQLite, and PostgreSQL + Redis)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from tests.conftest import Harness, User
from tests.integration.test_pages import page_headers

from nixflow.store.db import Tx
from nixflow.store.tables import tickets


def _cells(html: str) -> dict[str, dict[str, str]]:
    """Row (assignee id or "none") → field → the cell's text."""
    table: dict[str, dict[str, str]] = {}
    for who, row in re.findall(r'<tr data-assignee="(\w+)">(.*?)</tr>', html, re.S):
        fields = re.findall(r'data-field="(\w+)">(.*?)</td>', row, re.S)
        table[who] = {f: re.sub(r"<[^>]+>", "", cell).strip() for f, cell in fields}
    return table


async def _ticket(harness: Harness, requester: User, admin: User, *, priority: str, to: User | None) -> dict[str, Any]:
    made = (
        await harness.client.post(
            "/api/tickets", json={"title": "Work", "priority": priority}, headers=requester.headers
        )
    ).json()
    if to is not None:
        moved = await harness.client.patch(
            f"/api/tickets/{made['id']}", json={"version": made["version"], "assignee_id": to.id}, headers=admin.headers
        )
        assert moved.status_code == 200, moved.text
    return dict(made)


async def _move(harness: Harness, admin: User, ticket_id: int, *statuses: str) -> None:
    for status in statuses:
        moved = await harness.client.post(
            f"/api/tickets/{ticket_id}/transition", json={"status": status}, headers=admin.headers
        )
        assert moved.status_code == 200, moved.text


async def test_each_agents_open_work_overdue_and_solved(harness: Harness, admin: User, requester: User) -> None:
    ann, bob = await harness.user("agent", name="Ann"), await harness.user("agent", name="Bob")
    await _ticket(harness, requester, admin, priority="high", to=ann)
    waiting = await _ticket(harness, requester, admin, priority="normal", to=ann)
    await _move(harness, admin, waiting["id"], "open", "pending")
    solved = await _ticket(harness, requester, admin, priority="low", to=ann)
    await _move(harness, admin, solved["id"], "resolved")
    late = await _ticket(harness, requester, admin, priority="critical", to=bob)
    await _ticket(harness, requester, admin, priority="low", to=None)

    def overdue(tx: Tx) -> None:
        tx.conn.execute(
            update(tickets).where(tickets.c.id == late["id"]).values(resolution_due=tx.now - timedelta(minutes=5))
        )

    await harness.write(overdue)
    await harness.settle()
    page = await harness.client.get("/reports/workload", headers=page_headers(ann))
    assert page.status_code == 200, page.text
    cells = _cells(page.text)
    ann_row, bob_row, nobody = cells[str(ann.id)], cells[str(bob.id)], cells["none"]
    assert (ann_row["total"], ann_row["new"], ann_row["open"], ann_row["pending"]) == ("2", "1", "0", "1")
    assert (ann_row["high"], ann_row["normal"], ann_row["low"]) == ("1", "1", "0")
    assert (ann_row["overdue"], ann_row["solved"]) == ("0", "1")
    assert (bob_row["total"], bob_row["critical"], bob_row["overdue"]) == ("1", "1", "1")
    assert (nobody["total"], nobody["low"]) == ("1", "1")
    assert cells[str(admin.id)]["total"] == "0"  # every agent and admin has a row, idle ones too
    assert f'href="/queue?assignee_id={bob.id}&amp;sort=due"' in page.text  # overdue opens the queue, due first
    assert f'href="/queue?assignee_id={ann.id}&amp;status=pending"' in page.text
    refused = await harness.client.get("/reports/workload", headers=page_headers(requester))
    assert refused.status_code in (403, 404)
