"""When an agent leaves (deactivated, or made a requester), their open tickets go back through the assignment
rules: another eligible agent takes each, or it waits unassigned in the queue; closed work stays theirs."""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness, User


async def open_ticket(harness: Harness, user: User, title: str, category_id: int) -> int:
    response = await harness.client.post(
        "/api/tickets",
        json={"title": title, "description": "details", "category_id": category_id},
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def ticket(harness: Harness, admin: User, ticket_id: int) -> dict[str, Any]:
    return dict((await harness.client.get(f"/api/tickets/{ticket_id}", headers=admin.headers)).json())


async def category(harness: Harness, admin: User, name: str) -> int:
    created = await harness.client.post("/api/categories", json={"name": name}, headers=admin.headers)
    return int(created.json()["id"])


async def team_at_work(
    harness: Harness, admin: User, requester: User, *, others: int, tickets: int
) -> tuple[User, list[User], list[int]]:
    """A category with the agent who will leave and `others`; `tickets` shared out by round-robin; returns the
    leaving agent, the others and the leaving agent's tickets."""
    network = await category(harness, admin, "Network")
    leaving = await harness.user("agent", category_ids=[network])
    staying = [await harness.user("agent", category_ids=[network]) for _ in range(others)]
    ids = [await open_ticket(harness, requester, f"switch {n}", network) for n in range(tickets)]
    await harness.settle()
    theirs = [t for t in ids if (await ticket(harness, admin, t))["assignee_id"] == leaving.id]
    assert len(theirs) == tickets // (others + 1)  # round-robin shared them out
    return leaving, staying, theirs


async def test_a_deactivated_agents_open_tickets_go_to_the_other_agents(
    harness: Harness, admin: User, requester: User
) -> None:
    leaving, [staying], theirs = await team_at_work(harness, admin, requester, others=1, tickets=4)
    done = theirs[0]
    for status in ("open", "resolved"):
        moved = await harness.client.post(
            f"/api/tickets/{done}/transition", json={"status": status}, headers=leaving.headers
        )
        assert moved.status_code == 200, moved.text

    gone = await harness.client.patch(f"/api/users/{leaving.id}", json={"active": False}, headers=admin.headers)
    assert gone.status_code == 200
    await harness.settle()

    assert (await ticket(harness, admin, theirs[1]))["assignee_id"] == staying.id
    assert (await ticket(harness, admin, done))["assignee_id"] == leaving.id  # resolved work keeps its owner
    [deactivated] = await harness.events(type="user.deactivated")
    moves = [
        e for e in await harness.events(type="ticket.assigned", aggregate_id=str(theirs[1]))
        if e["metadata"]["correlation_id"] == deactivated["metadata"]["correlation_id"]
    ]  # fmt: skip
    assert [(e["data"]["previous_assignee_id"], e["data"]["assignee_id"]) for e in moves] == [
        (leaving.id, None),
        (None, staying.id),
    ]
    assert moves[0]["metadata"]["causation_id"] == deactivated["event_id"]
    assert all(e["metadata"]["actor_id"] == 0 for e in moves)  # done by NixFlow's automation


async def test_with_nobody_else_eligible_the_tickets_wait_unassigned(
    harness: Harness, admin: User, requester: User
) -> None:
    facilities = await category(harness, admin, "Facilities")
    only = await harness.user("agent", category_ids=[facilities])
    ticket_id = await open_ticket(harness, requester, "broken chair", facilities)
    await harness.settle()
    assert (await ticket(harness, admin, ticket_id))["assignee_id"] == only.id

    made = await harness.client.patch(f"/api/users/{only.id}", json={"role": "requester"}, headers=admin.headers)
    assert made.status_code == 200
    await harness.settle()
    assert (await ticket(harness, admin, ticket_id))["assignee_id"] is None
    skipped = await harness.events(type="automation.assignment_skipped", aggregate_id=str(ticket_id))
    assert skipped and "no eligible agent" in skipped[-1]["data"]["reason"]


async def test_an_agent_made_admin_keeps_their_tickets(harness: Harness, admin: User, requester: User) -> None:
    network = await category(harness, admin, "Network")
    agent = await harness.user("agent", category_ids=[network])
    await harness.user("agent", category_ids=[network])
    ticket_id = await open_ticket(harness, requester, "vpn", network)
    await harness.settle()
    assert (await ticket(harness, admin, ticket_id))["assignee_id"] == agent.id
    await harness.client.patch(f"/api/users/{agent.id}", json={"role": "admin"}, headers=admin.headers)
    await harness.settle()
    assert (await ticket(harness, admin, ticket_id))["assignee_id"] == agent.id


async def test_several_tickets_are_shared_out_among_the_agents_who_remain(
    harness: Harness, admin: User, requester: User
) -> None:
    leaving, [first, second], theirs = await team_at_work(harness, admin, requester, others=2, tickets=6)

    await harness.client.patch(f"/api/users/{leaving.id}", json={"active": False}, headers=admin.headers)
    await harness.settle()
    assert sorted([(await ticket(harness, admin, t))["assignee_id"] for t in theirs]) == [first.id, second.id]
