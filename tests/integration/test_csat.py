"""Satisfaction surveys: the link mailed on resolution, answering and changing it, who may answer, in both modes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from tests.conftest import Harness, ManualClock, mailing, start
from tests.csat_helpers import mailed_survey, resolved, ticket, token_of
from tests.org_helpers import organization
from tests.smtp_server import SmtpServer

from nixflow.config import Settings
from nixflow.crypto import keyring
from nixflow.mailwire import survey_links as links
from nixflow.store.tables import csat_answers


@pytest.fixture
async def mail_harness(settings: Settings, smtp: SmtpServer) -> AsyncIterator[Harness]:
    async for h in start(mailing(settings, smtp, delay=0)):
        yield h


async def _answer(h: Harness, token: str, rating: str, comment: str | None = None, **kw: object) -> object:
    return await h.client.post("/api/csat/answer", json={"token": token, "rating": rating, "comment": comment}, **kw)


async def _stored(h: Harness, ticket_id: int) -> dict[str, object] | None:
    def read(conn: object) -> dict[str, object] | None:
        row = conn.execute(select(csat_answers).where(csat_answers.c.ticket_id == ticket_id)).first()  # type: ignore[attr-defined]
        return None if row is None else dict(row._mapping)

    return await h.nixflow.db.read(read)


async def test_the_resolved_mail_carries_a_signed_link_that_answers_once_and_changes(
    mail_harness: Harness, smtp: SmtpServer
) -> None:
    h = mail_harness
    agent, requester, other = await h.user("agent"), await h.user("requester"), await h.user("requester")
    ticket_id = await resolved(h, requester, agent, assignee_id=agent.id)
    found = await asyncio.to_thread(mailed_survey, smtp, requester.email)
    assert set(found) == {"good", "bad"} and found["good"].startswith("https://help.example.com/csat?rating=good#")
    token = token_of(found["good"])

    shown = await h.client.post("/api/csat/survey", json={"token": token})
    assert shown.status_code == 200 and shown.json()["ticket_id"] == ticket_id and shown.json()["rating"] is None
    assert await _stored(h, ticket_id) is None  # showing the confirm page records nothing

    # A tampered link (another ticket, a later expiry, a changed mark) is refused and changes nothing.
    tid, rid, expires, mac = token.split(".")
    for bad in (f"{ticket_id + 1}.{rid}.{expires}.{mac}", f"{tid}.{rid}.{int(expires) + 60}.{mac}",
                f"{tid}.{rid}.{expires}.{'a' if mac[0] != 'a' else 'b'}{mac[1:]}", "nonsense"):  # fmt: skip
        refused = await _answer(h, bad, "bad")
        assert refused.status_code == 400, refused.text  # type: ignore[attr-defined]
    # Agents never answer for the requester, nor does another requester, even holding the link.
    for who in (agent, other):
        refused = await _answer(h, token, "bad", headers=who.headers)
        assert refused.status_code == 403, refused.text  # type: ignore[attr-defined]
    assert await _stored(h, ticket_id) is None

    first = await _answer(h, token, "good", "Quick and kind")
    assert first.status_code == 200 and first.json()["rating"] == "good", first.text  # type: ignore[attr-defined]
    again = await _answer(h, token, "bad", "It broke again", headers=requester.headers)
    assert again.status_code == 200 and again.json()["comment"] == "It broke again"  # type: ignore[attr-defined]
    await h.settle()
    received = await h.events(type="csat.received", aggregate_id=str(ticket_id))
    assert [(e["data"]["rating"], e["data"]["changed"], e["data"]["previous_rating"]) for e in received] == [
        ("good", False, None),
        ("bad", True, "good"),
    ]
    assert received[0]["metadata"]["actor_id"] == requester.id and received[0]["data"]["via"] == "link"
    stored = await _stored(h, ticket_id)
    assert stored is not None and stored["rating"] == "bad" and stored["assignee_id"] == agent.id
    # Staff learn the answer on the ticket; another requester learns nothing.
    seen = await h.client.get(f"/api/csat/tickets/{ticket_id}", headers=agent.headers)
    assert seen.json()["rating"] == "bad"
    assert (await h.client.get(f"/api/csat/tickets/{ticket_id}", headers=other.headers)).status_code == 404


@pytest.mark.parametrize("mode", ["embedded"], indirect=True)  # the same rows as the link's test, in both modes
async def test_the_ticket_page_answer_is_the_requesters_alone(harness: Harness) -> None:
    h = harness
    agent, requester, other = await h.user("agent"), await h.user("requester"), await h.user("requester")
    colleague = await h.user("requester")
    await organization(h, await h.user("admin"), "Acme", requester, colleague, shares_tickets=True)
    open_id = await ticket(h, requester, agent, assignee_id=agent.id)
    url = f"/api/csat/tickets/{open_id}"
    early = await h.client.post(url, json={"rating": "good"}, headers=requester.headers)
    assert early.status_code == 409, early.text  # not resolved yet
    done_id = await resolved(h, requester, agent, assignee_id=agent.id)
    url = f"/api/csat/tickets/{done_id}"
    assert (await h.client.post(url, json={"rating": "good"}, headers=agent.headers)).status_code == 403
    assert (await h.client.post(url, json={"rating": "good"}, headers=other.headers)).status_code == 404
    assert (await h.client.post(url, json={"rating": "meh"}, headers=requester.headers)).status_code == 422
    assert await _stored(h, done_id) is None
    answered = await h.client.post(url, json={"rating": "good", "comment": " "}, headers=requester.headers)
    assert answered.status_code == 200 and answered.json()["comment"] is None, answered.text
    assert answered.json()["can_answer"] is True
    # A colleague the ticket is shared with sees it, but neither the answer nor a way to give one.
    shared = await h.client.get(url, headers=colleague.headers)
    assert shared.status_code == 200 and (shared.json()["rating"], shared.json()["can_answer"]) == (None, False)
    assert (await h.client.post(url, json={"rating": "bad"}, headers=colleague.headers)).status_code == 403
    assert (await h.client.get(url, headers=requester.headers)).json()["rating"] == "good"


@pytest.mark.parametrize("mode", ["embedded"], indirect=True)  # the clock, not the storage, is under test
async def test_an_answer_changes_for_seven_days_and_a_link_expires(timed_harness: Harness, clock: ManualClock) -> None:
    h = timed_harness
    agent, requester = await h.user("agent"), await h.user("requester")
    ticket_id = await resolved(h, requester, agent, assignee_id=agent.id)
    keys = keyring(h.nixflow.settings)
    token = links.make(keys, ticket_id=ticket_id, requester_id=requester.id, expires_at=clock.now + timedelta(days=30))
    assert (await _answer(h, token, "good")).status_code == 200  # type: ignore[attr-defined]
    clock.advance(days=6, hours=23)
    assert (await _answer(h, token, "bad")).status_code == 200  # type: ignore[attr-defined]
    clock.advance(hours=2)  # seven days and an hour after the first answer
    late = await _answer(h, token, "good", "changed my mind")
    assert late.status_code == 409 and "7 days" in late.json()["detail"]  # type: ignore[attr-defined]
    page = await h.client.post(f"/api/csat/tickets/{ticket_id}", json={"rating": "good"}, headers=requester.headers)
    assert page.status_code == 409
    stored = await _stored(h, ticket_id)
    assert stored is not None and stored["rating"] == "bad"
    assert len(await h.events(type="csat.received")) == 2
    clock.advance(days=30)
    expired = await h.client.post("/api/csat/survey", json={"token": token})
    assert expired.status_code == 400 and "expired" in expired.json()["detail"]
