"""Sharing, in both modes: a requester sees (lists, reads, searches, downloads from, comments on, is pushed) the
public side of a colleague's ticket when the organization it was opened under shares its tickets with them; with
sharing off, or in another organization, they see nothing of it (404, not listed, not found, not pushed), and
internal notes stay the staff's either way."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.conftest import Harness, User
from tests.integration.test_pages import page_headers
from tests.integration.test_ws import connect, is_comment, live, receive_until, ws_url
from tests.org_helpers import ok, organization, queue_ids
from tests.search_helpers import comment, found, open_ticket

__all__ = ["live"]  # the uvicorn-served app of the WebSocket tests, used below


class Desk:
    """An admin, an agent, Pat and Sam of Acme, Gil of Globex (which shares too), and Pat's ticket with a
    public reply, an internal note and a file."""

    def __init__(self, h: Harness) -> None:
        self.h = h

    async def arrange(self) -> Desk:
        h = self.h
        self.admin, self.agent = await h.user("admin"), await h.user("agent")
        self.pat, self.sam, self.gil = [await h.user("requester") for _ in range(3)]
        self.acme = await organization(h, self.admin, "Acme", self.pat, self.sam, shares_tickets=True)
        await organization(h, self.admin, "Globex", self.gil, shares_tickets=True)
        self.ticket = await open_ticket(h, self.pat, "Quarterly invoices missing", "the zeppelin report")
        await comment(h, self.agent, self.ticket, "we are looking into the zeppelin report")
        await comment(h, self.agent, self.ticket, "secret: finance broke it", internal=True)
        upload = await h.client.post(
            f"/api/tickets/{self.ticket}/attachments",
            files={"file": ("report.txt", b"zeppelin figures", "text/plain")},
            headers=self.pat.headers,
        )
        self.file = (await ok(upload, 201))["id"]
        await h.settle()
        return self

    async def share(self, on: bool) -> None:
        path = f"/api/organizations/{self.acme['id']}"
        await ok(await self.h.client.patch(path, json={"shares_tickets": on}, headers=self.admin.headers))

    async def sees(self, who: User) -> dict[str, Any]:
        """What `who` gets of Pat's ticket from each way in (status codes and ids)."""
        h, base = self.h, f"/api/tickets/{self.ticket}"
        searched = await found(h, who, "zeppelin")
        return {
            "read": (await h.client.get(base, headers=who.headers)).status_code,
            "events": (await h.client.get(f"{base}/events", headers=who.headers)).status_code,
            "comments": (await h.client.get(f"{base}/comments", headers=who.headers)).status_code,
            "files": (await h.client.get(f"{base}/attachments", headers=who.headers)).status_code,
            "file": (await h.client.get(f"/api/attachments/{self.file}", headers=who.headers)).status_code,
            "page": (await h.client.get(f"/tickets/{self.ticket}", headers=page_headers(who))).status_code,
            "queue": self.ticket in await queue_ids(h, who),
            "search": [r["ticket"]["id"] for r in searched],
        }


SEES_ALL = {
    "read": 200,
    "events": 200,
    "comments": 200,
    "files": 200,
    "file": 200,
    "page": 200,
    "queue": True,
    "search": None,
}
SEES_NOTHING = {
    "read": 404,
    "events": 404,
    "comments": 404,
    "files": 404,
    "file": 404,
    "page": 404,
    "queue": False,
    "search": [],
}


@pytest.fixture
async def desk(harness: Harness) -> Desk:
    return await Desk(harness).arrange()


async def test_a_colleague_sees_the_public_side_of_a_shared_ticket(desk: Desk) -> None:
    h, d = desk.h, desk
    assert await d.sees(d.sam) == SEES_ALL | {"search": [d.ticket]}
    said = await ok(await h.client.get(f"/api/tickets/{d.ticket}/comments", headers=d.sam.headers))
    assert [c["body"] for c in said] == ["we are looking into the zeppelin report"]
    timeline = await ok(await h.client.get(f"/api/tickets/{d.ticket}/events", headers=d.sam.headers))
    assert "finance broke it" not in json.dumps(timeline)
    page = (await h.client.get(f"/tickets/{d.ticket}", headers=page_headers(d.sam))).text
    assert "zeppelin report" in page and "finance broke it" not in page
    # A colleague may answer on the public thread, as its requester may.
    await comment(h, d.sam, d.ticket, "same problem on my side")
    internal = await h.client.post(
        f"/api/tickets/{d.ticket}/comments", json={"body": "x", "internal": True}, headers=d.sam.headers
    )
    assert internal.status_code == 403


async def test_nobody_else_sees_it_and_sharing_off_or_leaving_hides_it_at_once(desk: Desk) -> None:
    d = desk
    assert await d.sees(d.gil) == SEES_NOTHING  # another organization, sharing too
    await d.share(False)
    assert await d.sees(d.sam) == SEES_NOTHING
    assert await d.sees(d.pat) == SEES_ALL | {"search": [d.ticket]}  # its requester, always
    await d.share(True)
    assert (await d.sees(d.sam))["read"] == 200
    leave = f"/api/organizations/{d.acme['id']}/members/{d.sam.id}"
    await ok(await d.h.client.delete(leave, headers=d.admin.headers))
    assert await d.sees(d.sam) == SEES_NOTHING  # no longer a member


async def test_a_ticket_opened_before_joining_stays_its_requesters(harness: Harness) -> None:
    h = harness
    admin, pat, sam = await h.user("admin"), await h.user("requester"), await h.user("requester")
    early = await open_ticket(h, pat, "Before Acme")
    await organization(h, admin, "Acme", pat, sam, shares_tickets=True)
    later = await open_ticket(h, pat, "After Acme")
    assert await queue_ids(h, sam) == [later]
    assert (await h.client.get(f"/api/tickets/{early}", headers=sam.headers)).status_code == 404


@pytest.fixture
async def live_desk(live: Harness) -> AsyncIterator[Desk]:
    yield await Desk(live).arrange()


async def test_live_a_colleague_is_pushed_a_shared_ticket_and_nothing_else(live_desk: Desk) -> None:
    h, d = live_desk.h, live_desk
    first = (await h.events())[-1]["event_id"]
    async with connect(ws_url(h, d.sam)) as sam, connect(ws_url(h, d.gil)) as gil:
        await comment(h, d.agent, d.ticket, "staff only: call finance", internal=True)
        await comment(h, d.agent, d.ticket, "fixed the zeppelin report")
        gils = await open_ticket(h, d.gil, "Globex ticket")
        await comment(h, d.agent, gils, "for gil only")
        pushed = await receive_until(sam, is_comment("fixed the zeppelin report"))
        gil_got = await receive_until(gil, is_comment("for gil only"))
    assert {e["aggregate_id"] for e in pushed} == {str(d.ticket)}
    assert "call finance" not in json.dumps(pushed)
    assert {e["aggregate_id"] for e in gil_got} == {str(gils)}  # Acme's ticket never reached Gil
    # What a resume replays from the log is decided alike.
    async with connect(ws_url(h, d.sam, after=first)) as sam:
        replayed = await receive_until(sam, is_comment("fixed the zeppelin report"))
    assert [e["data"]["body"] for e in replayed if e["type"] == "ticket.commented"] == ["fixed the zeppelin report"]
    assert {e["aggregate_id"] for e in replayed} == {str(d.ticket)} and "call finance" not in json.dumps(replayed)
