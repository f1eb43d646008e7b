"""What each viewer is shown of a ticket: a requester the conversation and status changes only (API and page),
the past with the watchers it had, and article links a requester can open; in both modes."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import Harness, User

CONVERSATION = {"ticket.created", "ticket.commented", "ticket.status_changed", "ticket.attachment_added"}


def page_headers(user: User) -> dict[str, str]:
    return {"Cookie": f"nixflow_session={user.token}"}


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def _page(harness: Harness, user: User, path: str) -> str:
    response = await harness.client.get(path, headers=page_headers(user))
    assert response.status_code == 200, response.text
    return response.text


async def _busy_ticket(harness: Harness, requester: User, agent: User) -> int:
    """A ticket a default rule re-prioritises, an agent assigns, pauses (SLA) and notes internally."""
    ticket = await _ok(
        await harness.client.post(
            "/api/tickets", json={"title": "Core switch is down", "description": "floor 3"}, headers=requester.headers
        ),
        201,
    )
    tid = int(ticket["id"])
    await harness.settle()
    version = (await _ok(await harness.client.get(f"/api/tickets/{tid}", headers=agent.headers)))["version"]
    await _ok(
        await harness.client.patch(
            f"/api/tickets/{tid}", json={"version": version, "assignee_id": agent.id}, headers=agent.headers
        )
    )
    for status in ("open", "pending"):
        await _ok(
            await harness.client.post(f"/api/tickets/{tid}/transition", json={"status": status}, headers=agent.headers)
        )
    comment = {"body": "Which port?"}
    await _ok(await harness.client.post(f"/api/tickets/{tid}/comments", json=comment, headers=agent.headers), 201)
    note = {"body": "vendor case 991", "internal": True}
    await _ok(await harness.client.post(f"/api/tickets/{tid}/comments", json=note, headers=agent.headers), 201)
    await harness.settle()
    return tid


async def test_a_requester_sees_the_conversation_and_status_changes_and_nothing_internal(
    harness: Harness, requester: User, agent: User
) -> None:
    tid = await _busy_ticket(harness, requester, agent)
    staff = await _ok(await harness.client.get(f"/api/tickets/{tid}/events", headers=agent.headers))
    staff_types = {e["type"] for e in staff}
    # What there is to hide: a rule's change, its bookkeeping, routing and the SLA clock.
    assert {"ticket.priority_changed", "automation.rule_applied", "ticket.assigned", "sla.paused"} <= staff_types
    assert any(e["metadata"].get("rule_id") for e in staff)

    theirs = await _ok(await harness.client.get(f"/api/tickets/{tid}/events", headers=requester.headers))
    assert {e["type"] for e in theirs} <= CONVERSATION
    assert [e["data"]["new_status"] for e in theirs if e["type"] == "ticket.status_changed"] == ["open", "pending"]
    assert [e["data"]["body"] for e in theirs if e["type"] == "ticket.commented"] == ["Which port?"]
    text = str(theirs)
    for internal in ("rule_id", "rule_name", "_due", "approval", "vendor case", "automation", "sla"):
        assert internal not in text, internal
    assert all(e["metadata"]["causation_id"] is None for e in theirs)

    html = await _page(harness, requester, f"/tickets/{tid}")
    timeline = html[html.index('id="timeline-h"') :]
    assert "Status changed to Pending" in timeline and "Status changed to Open" in timeline
    for internal in ("rule", "sla.", "ticket.assigned", "NixFlow automation", "priority_changed"):
        assert internal not in timeline, internal
    details = html[html.index('id="details-h"') : html.index('id="comments-h"')]
    for internal in ("Resolution due", "First response due", "Approval", "not_required"):
        assert internal not in details, internal

    agent_html = await _page(harness, agent, f"/tickets/{tid}")
    assert "ticket.priority_changed" in agent_html and "Resolution due" in agent_html


async def test_the_past_shows_the_watchers_it_had_and_offers_no_reply_tools(
    harness: Harness, requester: User, agent: User, admin: User
) -> None:
    await _ok(
        await harness.client.post(
            "/api/kb/articles",
            json={
                "title": "Printer jams on tray 2",
                "body": "Open tray 2 and remove the paper.",
                "status": "published",
            },
            headers=agent.headers,
        ),
        201,
    )
    ticket = await _ok(
        await harness.client.post("/api/tickets", json={"title": "Printer jams"}, headers=requester.headers), 201
    )
    tid = ticket["id"]
    await _ok(
        await harness.client.post(f"/api/tickets/{tid}/watchers", json={"user_id": agent.id}, headers=agent.headers),
        201,
    )
    await harness.settle()
    before_admin = (await _ok(await harness.client.get(f"/api/tickets/{tid}/events", headers=admin.headers)))[-1]
    await _ok(
        await harness.client.post(f"/api/tickets/{tid}/watchers", json={"user_id": admin.id}, headers=admin.headers),
        201,
    )
    await _ok(await harness.client.delete(f"/api/tickets/{tid}/watchers/{agent.id}", headers=agent.headers), 204)
    await harness.settle()

    now = await _page(harness, admin, f"/tickets/{tid}")
    assert _watchers(now) == "Admin"
    assert "Insert link into reply" in now

    then = await _page(harness, admin, f"/tickets/{tid}?as_of={before_admin['event_id']}")
    assert _watchers(then) == "Agent"
    assert 'id="comment-form"' not in then
    assert "Insert link into reply" not in then and "This article solved it" not in then


def _watchers(html: str) -> str:
    found = re.search(r'<span id="watcher-names">(.*?)</span>', html, re.S)
    assert found is not None
    return found.group(1).strip()


async def test_insert_article_link_offers_only_articles_the_requester_may_read(
    harness: Harness, requester: User, agent: User
) -> None:
    made = {}
    for visibility in ("requesters", "internal"):
        article = {
            "title": f"VPN drops ({visibility})",
            "body": "Reconnect the VPN client.",
            "status": "published",
            "visibility": visibility,
        }
        made[visibility] = await _ok(
            await harness.client.post("/api/kb/articles", json=article, headers=agent.headers), 201
        )
    ticket = await _ok(
        await harness.client.post("/api/tickets", json={"title": "VPN drops"}, headers=requester.headers), 201
    )
    await harness.settle()

    html = await _page(harness, agent, f"/tickets/{ticket['id']}")
    offered = set(re.findall(r'data-kb-insert="/kb/(\d+)"', html))
    assert offered == {str(made["requesters"]["id"])}
    # The link offered is one the requester can open.
    opened = await harness.client.get(f"/kb/{made['requesters']['id']}", headers=page_headers(requester))
    assert opened.status_code == 200
