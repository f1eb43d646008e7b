"""Ticket-search test helpers: open tickets, talk on them, and ask `/api/search`."""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness, User


async def open_ticket(h: Harness, who: User, title: str, description: str = "", **fields: Any) -> int:
    """A new ticket by `who`; its id."""
    made = await h.client.post(
        "/api/tickets", json={"title": title, "description": description, **fields}, headers=who.headers
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def comment(h: Harness, who: User, ticket_id: int, body: str, internal: bool = False) -> int:
    """A comment (or internal note) on the ticket; its id."""
    said = await h.client.post(
        f"/api/tickets/{ticket_id}/comments", json={"body": body, "internal": internal}, headers=who.headers
    )
    assert said.status_code == 201, said.text
    return int(said.json()["id"])


async def found(h: Harness, who: User, q: str, **params: Any) -> list[dict[str, Any]]:
    """The results of searching `q` as `who` (a 200 expected)."""
    got = await h.client.get("/api/search", params={"q": q, **params}, headers=who.headers)
    assert got.status_code == 200, got.text
    items: list[dict[str, Any]] = got.json()["items"]
    return items


async def ids(h: Harness, who: User, q: str) -> list[int]:
    """The ticket ids a search finds, in rank order."""
    return [item["ticket"]["id"] for item in await found(h, who, q)]
