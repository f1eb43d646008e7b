"""Search filters combine with words; hostile or unknown input is a clear 422 or nothing, never a 500."""

from __future__ import annotations

import pytest
from tests.conftest import Harness, User
from tests.search_helpers import ids, open_ticket


async def _assign(h: Harness, staff: User, ticket_id: int, **fields: object) -> None:
    version = (await h.client.get(f"/api/tickets/{ticket_id}", headers=staff.headers)).json()["version"]
    done = await h.client.patch(f"/api/tickets/{ticket_id}", json={"version": version, **fields}, headers=staff.headers)
    assert done.status_code == 200, done.text


async def test_each_filter_narrows_the_words(harness: Harness, admin: User, agent: User, requester: User) -> None:
    category = await harness.client.post("/api/categories", json={"name": "Field Kit"}, headers=admin.headers)
    other = await harness.user("requester", email="bob@acme.example")
    urgent = await open_ticket(harness, requester, "Router down", category_id=category.json()["id"])
    calm = await open_ticket(harness, other, "Router slow")
    done = await open_ticket(harness, requester, "Router replaced")
    await _assign(harness, admin, urgent, assignee_id=agent.id, priority="high")
    await _assign(harness, admin, calm, priority="low")
    await _assign(harness, admin, done, priority="normal")
    for status in ("open", "resolved"):
        moved = await harness.client.post(
            f"/api/tickets/{done}/transition", json={"status": status}, headers=agent.headers
        )
        assert moved.status_code == 200, moved.text
    assert set(await ids(harness, agent, "router status:open")) == {urgent, calm}
    assert await ids(harness, agent, "router status:resolved") == [done]
    assert await ids(harness, agent, "router priority:high") == [urgent]
    assert await ids(harness, agent, "router assignee:me") == [urgent]
    assert await ids(harness, admin, f"router assignee:{agent.email}") == [urgent]
    assert set(await ids(harness, agent, "router assignee:none")) == {calm, done}
    assert await ids(harness, agent, 'router category:"field kit"') == [urgent]
    assert await ids(harness, agent, "router requester:BOB@acme.example") == [calm]
    assert await ids(harness, agent, 'router status:open priority:low "router slow"') == [calm]


@pytest.mark.parametrize(
    ("q", "named"),
    [
        ("router colour:red", "colour"),
        ("router tag:-vpn", "tag"),
        ("status:", "status"),
        ("status:sleeping", "sleeping"),
        ("priority:urgent", "urgent"),
    ],
)
async def test_unknown_filters_and_bad_values_are_named(harness: Harness, agent: User, q: str, named: str) -> None:
    got = await harness.client.get("/api/search", params={"q": q}, headers=agent.headers)
    assert got.status_code == 422, got.text
    assert named in got.text


@pytest.mark.parametrize(
    "q",
    [
        'NEAR(a b) OR "unbalanced',
        "\"'; DROP TABLE tickets; --",
        "a\x00b modem",
        "*) ^ : {} [] -- ! & | <->",
        "modem " + "x" * 990,
        'modem "',
    ],
)
async def test_hostile_input_never_breaks_the_search(harness: Harness, agent: User, requester: User, q: str) -> None:
    ticket = await open_ticket(harness, requester, "Modem blinking")
    got = await harness.client.get("/api/search", params={"q": q}, headers=agent.headers)
    assert got.status_code == 200, got.text
    assert all(item["ticket"]["id"] == ticket for item in got.json()["items"])


async def test_an_overlong_query_is_refused(harness: Harness, agent: User) -> None:
    got = await harness.client.get("/api/search", params={"q": "x" * 1001}, headers=agent.headers)
    assert got.status_code == 422


async def test_searching_needs_a_sign_in(harness: Harness) -> None:
    assert (await harness.client.get("/api/search", params={"q": "x"})).status_code == 401


async def test_the_tag_filter_narrows_for_staff_and_is_refused_to_requesters(
    harness: Harness, agent: User, requester: User
) -> None:
    tagged = await open_ticket(harness, requester, "Printer jam on floor 2")
    untagged = await open_ticket(harness, requester, "Printer jam on floor 3")
    added = await harness.client.post(f"/api/tickets/{tagged}/tags", json={"tags": ["VPN"]}, headers=agent.headers)
    assert added.status_code == 200, added.text
    assert set(await ids(harness, agent, "printer")) == {tagged, untagged}
    assert await ids(harness, agent, "printer tag:vpn") == [tagged]
    assert await ids(harness, agent, "printer tag:other") == []
    refused = await harness.client.get("/api/search", params={"q": "printer tag:vpn"}, headers=requester.headers)
    assert refused.status_code == 403, refused.text


async def test_filters_alone_list_what_they_leave_and_combine_with_words(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    network = await harness.client.post("/api/categories", json={"name": "Network"}, headers=admin.headers)
    said = "the exact phrase is here"
    mine = await open_ticket(harness, requester, "VPN drops", said, category_id=network.json()["id"])
    other = await open_ticket(harness, requester, "VPN slow", said)
    stranger = await harness.user("requester")
    theirs = await open_ticket(harness, stranger, "Printer")
    for ticket in (mine, other):
        tagged = await harness.client.post(f"/api/tickets/{ticket}/tags", json={"tags": ["vpn"]}, headers=agent.headers)
        assert tagged.status_code == 200, tagged.text
    await _assign(harness, admin, mine, assignee_id=agent.id)
    assert set(await ids(harness, agent, "status:open tag:vpn")) == {mine, other}
    assert await ids(harness, agent, "assignee:me") == [mine]
    everything = 'status:open tag:vpn assignee:me category:Network "exact phrase" here'
    assert await ids(harness, agent, everything) == [mine]
    assert await ids(harness, agent, everything.replace("here", "elsewhere")) == []
    # A requester's filters still leave only their own tickets.
    assert set(await ids(harness, requester, "status:open")) == {mine, other}
    assert await ids(harness, stranger, "status:open") == [theirs]


async def test_the_org_filter_finds_the_tickets_of_that_organization(
    harness: Harness, admin: User, agent: User
) -> None:
    org = await harness.client.post(
        "/api/organizations", json={"name": "Acme Corp", "domains": ["acme.example"]}, headers=admin.headers
    )
    assert org.status_code == 201, org.text
    ann = await harness.user("requester", email="ann@acme.example")
    bob = await harness.user("requester", email="bob@other.example")
    acme = await open_ticket(harness, ann, "Router down")
    other = await open_ticket(harness, bob, "Router down too")
    assert set(await ids(harness, agent, "router")) == {acme, other}
    assert await ids(harness, agent, 'router org:"acme corp"') == [acme]
    assert await ids(harness, agent, 'org:"Acme Corp"') == [acme]
    assert await ids(harness, agent, "router org:Nobody") == []
