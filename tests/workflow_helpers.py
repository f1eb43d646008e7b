"""Shared set-up of the approval workflow tests: a manager field, a team, a laptop workflow, a ticket under it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.conftest import Harness, User

MANAGER_FIELD = {"key": "manager", "label": "Manager", "type": "text", "entity": "user"}


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


@dataclass
class Laptop:
    """A requester whose manager is `manager`, an IT team of two, and the "Laptop request" workflow."""

    requester: User
    manager: User
    it: list[User]
    workflow_id: int
    category_id: int


def laptop_definition(
    category_id: int, *, deadline_hours: float | None = None, escalate_to: list[int] | None = None
) -> dict[str, Any]:
    manager_step: dict[str, Any] = {"name": "Manager", "approvers": {"kind": "manager", "field": "manager"}}
    if deadline_hours is not None:
        manager_step |= {"deadline_hours": deadline_hours, "escalate_to": escalate_to or []}
    return {
        "name": "Laptop request",
        "steps": [
            manager_step,
            {"name": "IT", "approvers": {"kind": "team", "category_id": category_id}, "rule": "any"},
        ],
        "on_approved": {"status": "open"},
        "on_rejected": {"status": "resolved"},
    }


async def laptop(h: Harness, admin: User, **definition: Any) -> Laptop:
    """The people, the manager field, the IT category and the workflow, started by new tickets of that category."""
    await ok(await h.client.post("/api/fields", json=MANAGER_FIELD, headers=admin.headers), 201)
    manager = await h.user("requester", name="Mona Manager")
    it = [await h.user("agent", name="Ivo IT"), await h.user("agent", name="Ines IT")]
    requester = await h.user("requester", name="Rita Requester")
    await ok(
        await h.client.patch(
            f"/api/users/{requester.id}", json={"fields": {"manager": manager.email}}, headers=admin.headers
        )
    )
    category = await ok(
        await h.client.post(
            "/api/categories", json={"name": "Hardware", "agent_ids": [u.id for u in it]}, headers=admin.headers
        ),
        201,
    )
    workflow = await ok(
        await h.client.post(
            "/api/workflows", json=laptop_definition(category["id"], **definition), headers=admin.headers
        ),
        201,
    )
    await ok(
        await h.client.put(
            f"/api/workflows/categories/{category['id']}", json={"workflow_id": workflow["id"]}, headers=admin.headers
        ),
        204,
    )
    return Laptop(requester, manager, it, workflow["id"], category["id"])


async def open_ticket(h: Harness, setup: Laptop, title: str = "A new laptop, please") -> int:
    body = {"title": title, "description": "Mine is five years old", "category_id": setup.category_id}
    ticket = await ok(await h.client.post("/api/tickets", json=body, headers=setup.requester.headers), 201)
    await h.settle()
    return int(ticket["id"])
