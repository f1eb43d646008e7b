"""Organization test helpers: make one, add members, read what a user sees."""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness, User


async def ok(response: Any, status: int = 200) -> Any:
    """The JSON of a response that must have `status`."""
    assert response.status_code == status, response.text
    return response.json()


async def organization(h: Harness, admin: User, name: str, *members: User, **fields: Any) -> dict[str, Any]:
    """A new organization with these members; as `GET /api/organizations/{id}` answers."""
    made = await ok(
        await h.client.post("/api/organizations", json={"name": name, **fields}, headers=admin.headers), 201
    )
    for member in members:
        path = f"/api/organizations/{made['id']}/members"
        made = await ok(await h.client.post(path, json={"user_id": member.id}, headers=admin.headers))
    return dict(made)


async def queue_ids(h: Harness, who: User, **params: Any) -> list[int]:
    """The ids of the tickets `GET /api/tickets` lists for `who`, newest first."""
    listed = await ok(await h.client.get("/api/tickets", params=params, headers=who.headers))
    return [int(t["id"]) for t in listed["items"]]
