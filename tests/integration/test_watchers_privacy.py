"""Watchers without account enumeration (issue 22): a requester adding an address learns nothing about whether
it has an account, sees only the watchers they brought (by the address they typed) and themselves, cannot
remove staff; anyone can stop watching (both modes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Any

import pytest
from tests.conftest import Harness, User, mailing, start
from tests.mail_marker import mail_before_a_marker
from tests.smtp_server import SmtpServer, addressed

from nixflow.config import Settings

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


@pytest.fixture
async def bounded(settings: Settings) -> AsyncIterator[Harness]:
    """At most 3 watchers a ticket, 4 CCs an hour per requester, new accounts only in example.com."""
    bounds = {"watchers_max_per_ticket": 3, "watchers_cc_per_hour": 4, "mail_allow_domains": "example.com"}
    async for h in start(settings.model_copy(update=bounds)):
        yield h


async def _accounts(h: Harness, admin: User) -> list[str]:
    return [u["email"] for u in (await h.client.get("/api/users", headers=admin.headers)).json()]


async def test_a_ticket_has_at_most_so_many_watchers(bounded: Harness) -> None:
    h = bounded
    admin, agent, requester = await h.user("admin"), await h.user("agent"), await h.user("requester")
    _ticket_id, url = await _ticket(h, requester)
    assert (await h.client.post(url, json={"user_id": agent.id}, headers=agent.headers)).status_code == 201
    await _cc(h, url, requester, "one@example.com")
    await _cc(h, url, requester, "two@example.com")
    refused = await h.client.post(url, json={"email": "three@example.com"}, headers=requester.headers)
    assert refused.status_code == 422 and "at most" in refused.json()["detail"] + str(refused.json()["errors"])
    assert (await h.client.post(url, json={"user_id": admin.id}, headers=admin.headers)).status_code == 422
    assert "three@example.com" not in await _accounts(h, admin)  # the refusal created nobody
    assert len((await h.client.get(url, headers=agent.headers)).json()) == 3
    assert (await h.client.delete(f"{url}/{agent.id}", headers=agent.headers)).status_code == 204
    await _cc(h, url, requester, "three@example.com")  # room again


async def test_a_requester_may_add_only_so_many_an_hour(bounded: Harness) -> None:
    h = bounded
    admin, requester, other = await h.user("admin"), await h.user("requester"), await h.user("requester")
    _first, url = await _ticket(h, requester)
    listed = [await _cc(h, url, requester, f"cc{n}@example.com") for n in range(3)]
    removed = (await h.client.get(url, headers=requester.headers)).json()[0]["user_id"]
    assert (await h.client.delete(f"{url}/{removed}", headers=requester.headers)).status_code == 204
    _second, url2 = await _ticket(h, requester)
    await _cc(h, url2, requester, "cc3@example.com")  # the fourth in the hour: removing one gave nothing back
    refused = await h.client.post(url2, json={"email": "cc4@example.com"}, headers=requester.headers)
    assert refused.status_code == 429, refused.text
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600 and "an hour" in refused.json()["detail"]
    assert "cc4@example.com" not in await _accounts(h, admin) and len(listed) == 3
    _theirs, url3 = await _ticket(h, other)
    await _cc(h, url3, other, "cc4@example.com")  # the rate is the requester's own
    documented = (await h.client.get("/openapi.json")).json()["paths"]["/api/tickets/{ticket_id}/watchers"]
    assert "429" in documented["post"]["responses"]


async def test_an_address_outside_the_allowed_domains_is_refused_whether_or_not_it_has_an_account(
    bounded: Harness,
) -> None:
    h = bounded
    requester = await h.user("requester")
    await h.user("requester", email="known@elsewhere.test")
    _ticket_id, url = await _ticket(h, requester)
    known = await h.client.post(url, json={"email": "known@elsewhere.test"}, headers=requester.headers)
    unknown = await h.client.post(url, json={"email": "unknown@elsewhere.test"}, headers=requester.headers)
    assert known.status_code == unknown.status_code == 422
    assert known.json()["detail"].replace("known@", "X@") == unknown.json()["detail"].replace("unknown@", "X@")
    assert (await h.client.get(url, headers=requester.headers)).json() == []


@pytest.fixture
async def desk(settings: Settings, smtp: SmtpServer) -> AsyncIterator[Harness]:
    async for h in start(mailing(settings, smtp, delay=0.5)):
        yield h


async def test_a_new_cc_is_mailed_the_next_public_comment_an_inactive_one_is_not(
    desk: Harness, smtp: SmtpServer
) -> None:
    h = desk
    admin, agent, requester = await h.user("admin"), await h.user("agent", name="Ana Agent"), await h.user("requester")
    gone = await h.user("requester", email="gone@customer.test")
    assert (await h.client.patch(f"/api/users/{gone.id}", json={"active": False}, headers=admin.headers)).is_success
    ticket_id, url = await _ticket(h, requester)
    await _cc(h, url, requester, "New-CC@customer.test")
    await _cc(h, url, requester, gone.email)
    await h.settle()
    comments = f"/api/tickets/{ticket_id}/comments"
    note = await h.client.post(comments, json={"body": "Staff only", "internal": True}, headers=agent.headers)
    said = await h.client.post(comments, json={"body": "We are on it"}, headers=agent.headers)
    assert note.status_code == said.status_code == 201
    [mail] = await asyncio.to_thread(smtp.inbox.wait_for, 1, address="new-cc@customer.test", timeout=20)
    assert f"[#{ticket_id}]" in str(mail["Subject"]) and "We are on it" in _text(mail)
    await h.settle()
    sent = await mail_before_a_marker(h, smtp)
    assert addressed(sent, "new-cc@customer.test") == [mail]  # the comment, never the internal note
    assert addressed(sent, gone.email) == []  # inactive: listed like anyone, told nothing
    assert len(addressed(sent, requester.email)) == 1


def _text(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    return "" if part is None else str(part.get_content())
