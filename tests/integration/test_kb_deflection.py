"""Deflection measured from the log: suggestions, views, feedback, "this solved it" before and after a ticket,
tickets filed anyway within 24 h, and a draft article from a resolved ticket (both modes)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness, ManualClock, User
from tests.kb_helpers import VPN, ask, write


async def _stats(harness: Harness, staff: User) -> dict[int, dict[str, Any]]:
    return {row["article_id"]: row for row in (await ask(harness, "/api/kb/stats", staff))["items"]}


async def _ticket(harness: Harness, who: User, title: str = "VPN keeps disconnecting") -> dict[str, Any]:
    made = await harness.client.post("/api/tickets", json={"title": title}, headers=who.headers)
    assert made.status_code == 201, made.text
    ticket: dict[str, Any] = made.json()
    return ticket


async def test_a_suggestion_followed_by_a_ticket_is_not_deflected(harness: Harness, agent: User) -> None:
    vpn = await write(harness, agent, **VPN)
    filed, stopped = await harness.user("requester"), await harness.user("requester")
    for who in (filed, stopped):
        await ask(harness, "/api/kb/suggest", who, q="vpn")
        # Typing on: the same suggestion is not recorded again (issue 22: one per reader, version and window).
        await ask(harness, "/api/kb/suggest", who, q="vpn keeps disconnecting")
        await ask(harness, f"/api/kb/articles/{vpn['id']}", who)
    await _ticket(harness, filed)
    solved = await harness.client.post(
        f"/api/kb/articles/{vpn['id']}/solved", json={"query": "vpn"}, headers=stopped.headers
    )
    assert solved.status_code == 200 and solved.json() == {
        "article_id": vpn["id"], "version": 1, "ticket_id": None, "ticket_status": None,
    }  # fmt: skip
    await _ticket(harness, await harness.user("requester"))  # someone it was never suggested to
    row = (await _stats(harness, agent))[vpn["id"]]
    assert (row["suggested"], row["viewed"], row["helpful"], row["not_helpful"]) == (2, 2, 1, 0)
    assert (row["tickets_after"], row["deflected"], row["reached"], row["deflection_rate"]) == (1, 1, 2, 0.5)
    assert [v["version"] for v in row["versions"]] == [1] and row["versions"][0]["tickets_after"] == 1
    [deflected] = await harness.events(type="kb.ticket_deflected")
    assert deflected["data"] == {"article_id": vpn["id"], "version": 1, "user_id": stopped.id, "query": "vpn"}


async def test_counts_are_kept_per_version(harness: Harness, agent: User, requester: User) -> None:
    vpn = await write(harness, agent, **VPN)
    await ask(harness, "/api/kb/suggest", requester, q="vpn")
    await harness.client.patch(
        f"/api/kb/articles/{vpn['id']}", json={"body": "Use the TCP profile."}, headers=agent.headers
    )
    await ask(harness, "/api/kb/suggest", requester, q="vpn")
    no = await harness.client.post(
        f"/api/kb/articles/{vpn['id']}/feedback", json={"helpful": False, "comment": "  still drops  "},
        headers=requester.headers,
    )  # fmt: skip
    assert no.status_code == 201 and no.json()["version"] == 2 and no.json()["comment"] == "still drops"
    await _ticket(harness, requester)
    row = (await _stats(harness, agent))[vpn["id"]]
    assert (row["suggested"], row["not_helpful"], row["tickets_after"]) == (2, 1, 1)  # one ticket, counted once
    by_version = {v["version"]: v for v in row["versions"]}
    assert (by_version[1]["suggested"], by_version[1]["not_helpful"], by_version[1]["tickets_after"]) == (1, 0, 1)
    assert (by_version[2]["suggested"], by_version[2]["not_helpful"], by_version[2]["tickets_after"]) == (1, 1, 1)
    [feedback] = await harness.events(type="kb.feedback_received")
    assert feedback["data"]["helpful"] is False and feedback["data"]["user_id"] == requester.id


async def test_a_ticket_a_day_later_is_not_counted_against_the_article(
    timed_harness: Harness, clock: ManualClock
) -> None:
    harness = timed_harness
    agent, requester = await harness.user("agent"), await harness.user("requester")
    vpn = await write(harness, agent, **VPN)
    await ask(harness, "/api/kb/suggest", requester, q="vpn")
    clock.advance(hours=25)
    await _ticket(harness, requester)
    row = (await _stats(harness, agent))[vpn["id"]]
    assert (row["suggested"], row["tickets_after"], row["deflection_rate"]) == (1, 0, 1.0)


async def test_this_article_solved_it_resolves_the_open_ticket(harness: Harness, agent: User, requester: User) -> None:
    vpn = await write(harness, agent, **VPN)
    ticket = await _ticket(harness, requester)
    other = await harness.user("requester")
    path = f"/api/kb/articles/{vpn['id']}/solved"
    assert (await harness.client.post(path, json={"ticket_id": ticket["id"]}, headers=other.headers)).status_code == 404
    done = await harness.client.post(path, json={"ticket_id": ticket["id"]}, headers=requester.headers)
    assert done.status_code == 200, done.text
    assert done.json() == {
        "article_id": vpn["id"],
        "version": 1,
        "ticket_id": ticket["id"],
        "ticket_status": "resolved",
    }
    assert (await ask(harness, f"/api/tickets/{ticket['id']}", requester))["status"] == "resolved"
    comments = await ask(harness, f"/api/tickets/{ticket['id']}/comments", requester)
    assert f"/kb/{vpn['id']}" in comments[-1]["body"] and comments[-1]["author_id"] == requester.id
    [linked] = await harness.events(type="kb.article_resolved_ticket")
    assert linked["aggregate_type"] == "ticket" and linked["aggregate_id"] == str(ticket["id"])
    assert linked["data"] == {"ticket_id": ticket["id"], "article_id": vpn["id"], "version": 1, "by_id": requester.id}
    again = await harness.client.post(path, json={"ticket_id": ticket["id"]}, headers=requester.headers)
    assert again.status_code == 409
    page = await harness.client.get(f"/tickets/{ticket['id']}", headers={"Cookie": f"nixflow_session={agent.token}"})
    assert "solved this ticket" in page.text


async def test_a_draft_or_internal_article_cannot_solve_anything(
    harness: Harness, agent: User, requester: User
) -> None:
    draft = await write(harness, agent, title="Draft", body="vpn", status="draft")
    internal = await write(harness, agent, title="Internal", body="vpn", visibility="internal")
    ticket = await _ticket(harness, requester)
    for article in (draft, internal):
        for body in ({}, {"ticket_id": ticket["id"]}):
            got = await harness.client.post(
                f"/api/kb/articles/{article['id']}/solved", json=body, headers=requester.headers
            )
            assert got.status_code == 404
        feedback = await harness.client.post(
            f"/api/kb/articles/{article['id']}/feedback", json={"helpful": True}, headers=requester.headers
        )
        assert feedback.status_code == 404
    assert (await ask(harness, f"/api/tickets/{ticket['id']}", requester))["status"] == "new"


async def test_a_resolved_ticket_becomes_a_linked_draft_article(harness: Harness, agent: User, requester: User) -> None:
    ticket = await harness.client.post(
        "/api/tickets", json={"title": "Outlook asks for my password", "description": "It pops up every hour."},
        headers=requester.headers,
    )  # fmt: skip
    ticket_id = ticket.json()["id"]
    path = f"/api/tickets/{ticket_id}/kb-article"
    assert (await harness.client.post(path, headers=agent.headers)).status_code == 409  # not resolved yet
    await harness.client.post(
        f"/api/tickets/{ticket_id}/comments",
        json={"body": "Internal: user error", "internal": True},
        headers=agent.headers,
    )
    await harness.client.post(
        f"/api/tickets/{ticket_id}/comments", json={"body": "Remove the saved credential."}, headers=agent.headers
    )
    resolved = await harness.client.post(
        f"/api/tickets/{ticket_id}/transition", json={"status": "resolved"}, headers=agent.headers
    )
    assert resolved.status_code == 200, resolved.text  # the public reply opened it; resolved in one step
    assert (await harness.client.post(path, headers=requester.headers)).status_code == 403
    made = await harness.client.post(path, headers=agent.headers)
    assert made.status_code == 201, made.text
    article = made.json()
    assert article["status"] == "draft" and article["title"] == "Outlook asks for my password"
    assert "It pops up every hour." in article["body"] and "Remove the saved credential." in article["body"]
    assert "Internal" not in article["body"]
    [created] = await harness.events(type="kb.article_created")
    assert created["data"]["source_ticket_id"] == ticket_id
    page = await harness.client.get(f"/kb/{article['id']}", headers={"Cookie": f"nixflow_session={agent.token}"})
    assert f'href="/tickets/{ticket_id}"' in page.text


async def test_stats_are_for_staff(harness: Harness, requester: User, agent: User) -> None:
    assert (await harness.client.get("/api/kb/stats", headers=requester.headers)).status_code == 403
    assert (await ask(harness, "/api/kb/stats", agent))["items"] == []
