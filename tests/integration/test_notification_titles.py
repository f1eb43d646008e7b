"""Notification titles in the reader's language (issue 30): stored as a key and its values, rendered when the list,
the page or a mail is read; a row stored before keys keeps its title (both modes)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from tests.conftest import Harness, User

from nixflow.store.db import Tx
from nixflow.store.tables import notifications


async def _titles(harness: Harness, user: User, **headers: str) -> list[str]:
    got = await harness.client.get("/api/notifications", headers={**user.headers, **headers})
    assert got.status_code == 200, got.text
    return [n["title"] for n in got.json()["items"]]


async def _desk(harness: Harness, admin: User, agent: User, requester: User) -> int:
    made = await harness.client.post(
        "/api/categories", json={"name": "Desk", "agent_ids": [agent.id]}, headers=admin.headers
    )
    assert made.status_code == 201, made.text
    body = {"title": "Printer jams", "description": "on floor 2", "category_id": made.json()["id"]}
    opened = await harness.client.post("/api/tickets", json=body, headers=requester.headers)
    assert opened.status_code == 201, opened.text
    await harness.settle()
    return int(opened.json()["id"])


async def test_each_reader_gets_the_title_in_their_language_with_the_name_filled_in(
    harness: Harness, admin: User, agent: User
) -> None:
    requester = await harness.user("requester", name="Zoë Brandt")
    chosen = await harness.client.patch("/api/auth/me", json={"locale": "de"}, headers=agent.headers)
    assert chosen.status_code == 200, chosen.text
    ticket_id = await _desk(harness, admin, agent, requester)
    watcher = await harness.user("agent")  # no language chosen
    added = await harness.client.post(
        f"/api/tickets/{ticket_id}/watchers", json={"user_id": watcher.id}, headers=watcher.headers
    )
    assert added.status_code == 201, added.text
    said = await harness.client.post(
        f"/api/tickets/{ticket_id}/comments", json={"body": "Still jams"}, headers=requester.headers
    )
    assert said.status_code == 201, said.text
    await harness.settle()

    assert await _titles(harness, agent) == [
        f"Neuer Kommentar von Zoë Brandt: #{ticket_id} Printer jams",
        f"Ihnen zugewiesen: #{ticket_id} Printer jams",
    ]
    # Their own choice wins over what the browser asks for; with none chosen, the browser's language counts.
    assert (await _titles(harness, agent, **{"Accept-Language": "fr"}))[0].startswith("Neuer Kommentar von")
    assert await _titles(harness, watcher) == [f"New comment from Zoë Brandt: #{ticket_id} Printer jams"]
    assert await _titles(harness, watcher, **{"Accept-Language": "fr-CH, fr;q=0.9"}) == [
        f"Nouveau commentaire de Zoë Brandt : #{ticket_id} Printer jams"
    ]
    page = await harness.client.get("/notifications", headers={"Cookie": f"nixflow_session={agent.token}"})
    assert page.status_code == 200
    assert f"Neuer Kommentar von Zoë Brandt: #{ticket_id} Printer jams" in page.text

    # A value of ours in the title (a status) is in the reader's language too.
    await harness.client.patch("/api/auth/me", json={"locale": "de"}, headers=requester.headers)
    moved = await harness.client.post(
        f"/api/tickets/{ticket_id}/transition", json={"status": "resolved"}, headers=admin.headers
    )
    assert moved.status_code == 200, moved.text
    await harness.settle()
    assert (await _titles(harness, requester))[0] == f"Status geändert auf gelöst: #{ticket_id} Printer jams"


async def test_a_row_stored_before_title_keys_keeps_its_title(harness: Harness, agent: User) -> None:
    await harness.client.patch("/api/auth/me", json={"locale": "de"}, headers=agent.headers)

    def stored(tx: Tx) -> None:
        row: dict[str, Any] = {
            "recipient_id": agent.id,
            "kind": "rules",
            "event_type": "notification.requested",
            "reason": "you are an admin",
            "in_app": True,
            "created_at": tx.now,
            "attempts": 0,
            "body": "old",
        }
        for n, title in enumerate(("Rule: call the vendor", "Assigned to you")):
            event_id = f"0190a0a0-0000-7000-8000-00000000000{n}"
            tx.conn.execute(insert(notifications), [{**row, "title": title, "event_id": event_id}])

    await harness.write(stored)
    # A free-text title stays as stored; one of the fixed English titles of old is translated.
    assert await _titles(harness, agent) == ["Ihnen zugewiesen", "Rule: call the vendor"]
