"""Watchers without account enumeration (issue 22): a requester adding an address learns nothing about whether
it has an account, sees only the watchers they brought (by the address they typed) and themselves, cannot
remove staff; anyone can stop watching (both modes)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness, User

WATCHER_FIELDS = ("user_id", "name", "email", "created_at")


async def _ticket(h: Harness, requester: User) -> tuple[int, str]:
    made = await h.client.post("/api/tickets", json={"title": "Who is watching?"}, headers=requester.headers)
    assert made.status_code == 201, made.text
    ticket_id = int(made.json()["id"])
    return ticket_id, f"/api/tickets/{ticket_id}/watchers"


async def _cc(h: Harness, url: str, requester: User, email: str) -> dict[str, Any]:
    added = await h.client.post(url, json={"email": email}, headers=requester.headers)
    assert added.status_code == 201, added.text
    body: dict[str, Any] = added.json()
    return body


async def test_adding_an_address_answers_and_lists_the_same_whether_or_not_it_has_an_account(
    harness: Harness, requester: User
) -> None:
    colleague = await harness.user("requester", name="Carla Colleague")
    ticket_id, url = await _ticket(harness, requester)
    known = await _cc(harness, url, requester, colleague.email.upper())
    unknown = await _cc(harness, url, requester, "Nobody-Here@example.com")
    assert known == {"ticket_id": ticket_id, "user_id": None, "email": colleague.email.upper()}
    assert unknown == {"ticket_id": ticket_id, "user_id": None, "email": "Nobody-Here@example.com"}

    listed = (await harness.client.get(url, headers=requester.headers)).json()
    # The same shape and content for both: the address typed, as the name too; never a name they did not type.
    assert [(w["name"], w["email"]) for w in listed] == [
        (colleague.email, colleague.email),
        ("nobody-here@example.com", "nobody-here@example.com"),
    ]
    assert [sorted(w) for w in listed] == [sorted(WATCHER_FIELDS)] * 2
    assert all(isinstance(w["user_id"], int) for w in listed) and "Carla" not in str(listed)
    timeline = (await harness.client.get(f"/api/tickets/{ticket_id}/events", headers=requester.headers)).json()
    assert not [e for e in timeline if e["type"].startswith("ticket.watcher_") or e["type"] == "user.created"]
    await harness.settle()
    # The unknown address became a requester without a password, caused by the request that added it.
    created = await harness.events(type="user.created", aggregate_id=str(listed[1]["user_id"]))
    assert [(e["data"]["email"], e["data"]["role"]) for e in created] == [("nobody-here@example.com", "requester")]
    added = await harness.events(type="ticket.watcher_added")
    assert [e["data"]["watcher_id"] for e in added] == [colleague.id, listed[1]["user_id"]]
    cause = [e for e in await harness.events(correlation_id=added[1]["metadata"]["correlation_id"])]
    assert [e["type"] for e in cause] == ["user.created", "ticket.watcher_added"]
    signin = await harness.client.post("/api/auth/login", json={"email": "nobody-here@example.com", "password": ""})
    assert signin.status_code in (401, 422)  # no password: only a reset link lets them in


async def test_an_inactive_account_is_added_like_any_other(harness: Harness, requester: User) -> None:
    admin = await harness.user("admin")
    gone = await harness.user("requester", name="Gone Person")
    off = await harness.client.patch(f"/api/users/{gone.id}", json={"active": False}, headers=admin.headers)
    assert off.status_code == 200, off.text
    _ticket_id, url = await _ticket(harness, requester)
    assert await _cc(harness, url, requester, gone.email) == {
        "ticket_id": _ticket_id,
        "user_id": None,
        "email": gone.email,
    }
    listed = (await harness.client.get(url, headers=requester.headers)).json()
    assert [(w["user_id"], w["name"], w["email"]) for w in listed] == [(gone.id, gone.email, gone.email)]


async def test_a_requester_sees_only_themselves_and_whom_they_added_staff_see_all(
    harness: Harness, requester: User, agent: User
) -> None:
    colleague = await harness.user("requester", name="Carla Colleague")
    _ticket_id, url = await _ticket(harness, requester)
    assert (await harness.client.post(url, json={"user_id": agent.id}, headers=agent.headers)).status_code == 201
    await _cc(harness, url, requester, colleague.email)
    mine = (await harness.client.get(url, headers=requester.headers)).json()
    assert [w["user_id"] for w in mine] == [colleague.id]
    everyone = (await harness.client.get(url, headers=agent.headers)).json()
    assert [(w["user_id"], w["name"]) for w in everyone] == [(agent.id, "Agent"), (colleague.id, "Carla Colleague")]


async def test_a_requester_cannot_remove_staff_but_can_remove_whom_they_added(
    harness: Harness, requester: User, agent: User
) -> None:
    colleague = await harness.user("requester")
    _ticket_id, url = await _ticket(harness, requester)
    assert (await harness.client.post(url, json={"user_id": agent.id}, headers=agent.headers)).status_code == 201
    await _cc(harness, url, requester, colleague.email)
    refused = await harness.client.delete(f"{url}/{agent.id}", headers=requester.headers)
    assert refused.status_code == 403, refused.text
    assert (await harness.client.delete(f"{url}/{colleague.id}", headers=requester.headers)).status_code == 204
    everyone = (await harness.client.get(url, headers=agent.headers)).json()
    assert [w["user_id"] for w in everyone] == [agent.id]  # the refusal changed nothing


async def test_a_cc_d_user_can_stop_watching_a_ticket_they_cannot_read(harness: Harness, requester: User) -> None:
    colleague = await harness.user("requester")
    stranger = await harness.user("requester")
    ticket_id, url = await _ticket(harness, requester)
    await _cc(harness, url, requester, colleague.email)
    assert (await harness.client.get(f"/api/tickets/{ticket_id}", headers=colleague.headers)).status_code == 404
    assert (await harness.client.delete(f"{url}/{colleague.id}", headers=colleague.headers)).status_code == 204
    again = await harness.client.delete(f"{url}/{colleague.id}", headers=colleague.headers)
    assert again.status_code == 404 and "ticket" in again.json()["detail"]
    # Someone who neither watches nor may read it learns nothing either: the same 404 as for no ticket at all.
    missing = await harness.client.delete(f"{url}/{stranger.id}", headers=stranger.headers)
    nowhere = await harness.client.delete(f"/api/tickets/999999/watchers/{stranger.id}", headers=stranger.headers)
    assert missing.status_code == nowhere.status_code == 404
    assert missing.json()["detail"].replace(str(ticket_id), "N") == nowhere.json()["detail"].replace("999999", "N")
