"""The queue and "My tickets" pages over HTTP: which tickets they list, search, and paging through many."""

from __future__ import annotations

import re

from tests.conftest import Harness, User

from nixflow.domain.tickets import Status
from nixflow.domain.values import Role
from nixflow.services import tickets
from nixflow.services.users import Principal
from nixflow.store.db import Tx


def page_headers(user: User) -> dict[str, str]:
    return {"Cookie": f"nixflow_session={user.token}"}


def listed(html: str) -> list[int]:
    """The ticket ids of a page's table rows, top to bottom."""
    return [int(i) for i in re.findall(r'<tr data-ticket-id="(\d+)"', html)]


async def open_tickets(harness: Harness, owner: User, titles: list[str], *, resolve: bool = False) -> list[int]:
    """Open tickets in one unit of work (resolved too, when asked): fast enough to fill several pages."""
    requester = Principal(owner.id, Role.REQUESTER, owner.email, "Owner")
    staff = Principal(0, Role.SYSTEM, "system@nixflow.invalid", "NixFlow automation")

    def work(tx: Tx) -> list[int]:
        ids = []
        for title in titles:
            ticket = tickets.create(tx, requester=requester, title=title, description="filled by the test")
            if resolve:
                for status in (Status.OPEN, Status.RESOLVED):
                    tickets.transition(tx, actor=staff, ticket_id=ticket["id"], status=status)
            ids.append(ticket["id"])
        return ids

    ids: list[int] = await harness.write(work)
    await harness.settle()
    return ids


async def test_the_open_queue_finds_open_tickets_behind_more_than_a_page_of_resolved_ones(
    harness: Harness, agent: User, requester: User
) -> None:
    [waiting] = await open_tickets(harness, requester, ["printer jammed"])
    resolved = await open_tickets(harness, requester, [f"done {n}" for n in range(120)], resolve=True)

    page = await harness.client.get("/queue", headers=page_headers(agent))
    assert page.status_code == 200
    assert listed(page.text) == [waiting]

    everything = await harness.client.get("/queue?status=all", headers=page_headers(agent))
    assert listed(everything.text) == list(reversed(resolved))[:100]
    assert 'rel="next"' in everything.text


async def test_the_queue_pages_through_every_ticket_once_keeping_its_filters(
    harness: Harness, agent: User, requester: User
) -> None:
    ids = await open_tickets(harness, requester, [f"laptop {n}" for n in range(230)])
    seen: list[int] = []
    url: str | None = "/queue?status=new"
    pages = 0
    while url:
        page = await harness.client.get(url, headers=page_headers(agent))
        assert page.status_code == 200
        seen += listed(page.text)
        pages += 1
        found = re.search(r'<a href="([^"]+)" rel="next">', page.text)
        url = found.group(1).replace("&amp;", "&") if found else None
        if url:
            assert "status=new" in url and "cursor=" in url
    assert pages == 3
    assert seen == sorted(ids, reverse=True)
    assert 'href="/queue?status=new">Newest</a>' in page.text


async def test_the_queue_searches_title_and_description(harness: Harness, agent: User, requester: User) -> None:
    [printer, _vpn] = await open_tickets(harness, requester, ["Printer on floor 3 jams", "VPN drops every hour"])

    found = await harness.client.get("/queue?q=PRINTER", headers=page_headers(agent))
    assert listed(found.text) == [printer]
    assert 'value="PRINTER"' in found.text

    none = await harness.client.get("/queue?q=100%25_", headers=page_headers(agent))
    assert listed(none.text) == [] and "No tickets match." in none.text


async def test_my_tickets_pages_through_only_my_own(harness: Harness, requester: User) -> None:
    other = await harness.user("requester")
    mine = await open_tickets(harness, requester, [f"mine {n}" for n in range(105)])
    await open_tickets(harness, other, ["not yours"])

    first = await harness.client.get("/tickets", headers=page_headers(requester))
    assert listed(first.text) == sorted(mine, reverse=True)[:100]
    found = re.search(r'<a href="([^"]+)" rel="next">', first.text)
    assert found is not None
    second = await harness.client.get(found.group(1), headers=page_headers(requester))
    assert listed(second.text) == sorted(mine, reverse=True)[100:]
    assert 'rel="next"' not in second.text and 'href="/tickets">Newest</a>' in second.text


async def test_a_forged_cursor_is_a_clear_error_page(harness: Harness, agent: User) -> None:
    page = await harness.client.get("/queue?cursor=not-a-cursor", headers=page_headers(agent))
    assert page.status_code == 422
    assert "cursor is not valid" in page.text


async def test_the_event_explorer_pages_through_the_log_keeping_its_filters(harness: Harness, admin: User) -> None:
    for _ in range(4):
        await harness.user("requester")
    created = [e["event_id"] for e in await harness.events(type="user.created")]
    seen: list[str] = []
    url: str | None = "/events?type=user.created&limit=2"
    while url:
        page = await harness.client.get(url, headers=page_headers(admin))
        assert page.status_code == 200
        seen += re.findall(r'href="/events/([0-9a-f-]{36})"', page.text)
        found = re.search(r'<a class="button secondary" href="([^"]+)" rel="next">', page.text)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert list(dict.fromkeys(seen)) == list(reversed(created))


async def test_the_account_page_shows_who_you_are_and_the_password_form(harness: Harness, agent: User) -> None:
    page = await harness.client.get("/account", headers=page_headers(agent))
    assert page.status_code == 200
    assert agent.email in page.text and 'data-api="/api/auth/password"' in page.text
    assert 'autocomplete="current-password"' in page.text and "Your password was changed" not in page.text
    after = await harness.client.get("/account?changed=1", headers=page_headers(agent))
    assert "Your password was changed" in after.text
    assert 'href="/account"' in (await harness.client.get("/queue", headers=page_headers(agent))).text


async def test_assigned_to_me_and_unassigned_views(harness: Harness, admin: User, requester: User) -> None:
    me = await harness.user("agent")
    [mine, theirs] = await open_tickets(harness, requester, ["mine", "not mine"])
    for ticket_id, assignee in ((mine, me.id), (theirs, admin.id)):
        patched = await harness.client.patch(
            f"/api/tickets/{ticket_id}", json={"version": 1, "assignee_id": assignee}, headers=admin.headers
        )
        assert patched.status_code == 200, patched.text
    queue = await harness.client.get("/queue", headers=page_headers(me))
    assert f'href="/queue?assignee_id={me.id}"' in queue.text
    page = await harness.client.get(f"/queue?assignee_id={me.id}", headers=page_headers(me))
    assert listed(page.text) == [mine] and 'aria-current="page">Assigned to me' in page.text
    [waiting] = await open_tickets(harness, requester, ["nobody's yet"])
    unassigned = await harness.client.get("/queue?assignee_id=none", headers=page_headers(me))
    assert listed(unassigned.text) == [waiting] and '<option value="none" selected>' in unassigned.text


def sla_cells(html: str) -> dict[int, str]:
    """Each row's "Resolution due" cell, by ticket id."""
    rows = re.findall(r'<tr data-ticket-id="(\d+)">.*?<td data-label="Resolution due"[^>]*>(.*?)</td>', html, re.S)
    return {int(ticket_id): cell for ticket_id, cell in rows}


async def test_the_queue_counts_down_only_while_the_sla_clock_runs(
    harness: Harness, agent: User, requester: User
) -> None:
    running, waiting, resolved, closed = await open_tickets(harness, requester, ["runs", "waits", "solved", "done"])
    for ticket_id, path in (
        (waiting, ("open", "pending")),
        (resolved, ("open", "resolved")),
        (closed, ("open", "resolved", "closed")),
    ):
        for status in path:
            moved = await harness.client.post(
                f"/api/tickets/{ticket_id}/transition", json={"status": status}, headers=agent.headers
            )
            assert moved.status_code == 200, moved.text
    page = await harness.client.get("/queue?status=all", headers=page_headers(agent))
    cells = sla_cells(page.text)
    assert '<span class="countdown" data-due="' in cells[running]
    assert cells[waiting] == '<span class="muted">paused</span>'
    assert cells[resolved] == cells[closed] == "—"  # no "due in 19h" for work that is done
