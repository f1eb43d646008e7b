"""Admins see quarantined mail and retry or discard it (`/api/mail/quarantine`), in both modes."""

from __future__ import annotations

import asyncio

from tests import mail_corpus as corpus
from tests.conftest import Harness, User
from tests.quarantine_helpers import held_mail

from nixflow.email_in import intake, quarantine

BASE = "/api/mail/quarantine"


async def _take(h: Harness, raw: bytes) -> quarantine.Held | intake.Outcome:
    config = intake.config_from(h.nixflow.settings)
    return await quarantine.take(h.nixflow.writer, raw, quarantine.read(raw, config), source="pipe", config=config)


async def test_a_mail_held_before_a_fix_is_retried_into_a_ticket_once(harness: Harness, admin: User) -> None:
    h = harness
    held = await held_mail(h, corpus.deeply_nested(3000))
    listed = await h.client.get(BASE, params={"state": "held"}, headers=admin.headers)
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert item["id"] == held and item["error"] == "RecursionError: maximum recursion depth exceeded"
    raw = await h.client.get(f"{BASE}/{held}/raw", headers=admin.headers)
    assert raw.status_code == 200 and raw.content == corpus.deeply_nested(3000)
    assert raw.headers["content-type"] == "message/rfc822" and "attachment" in raw.headers["content-disposition"]

    retried = await h.client.post(f"{BASE}/{held}/retry", headers=admin.headers)
    assert retried.status_code == 200, retried.text
    body = retried.json()
    assert body["state"] == "retried" and body["outcome"] == "ticket" and body["ticket_id"] is not None
    assert body["sender"] == "mallory@attacker.test" and body["subject"] == "Nested all the way down"
    ticket = await h.client.get(f"/api/tickets/{body['ticket_id']}", headers=admin.headers)
    assert "nests deeper than 20 levels" in ticket.json()["description"]
    again = await h.client.post(f"{BASE}/{held}/retry", headers=admin.headers)
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    assert (await h.client.post(f"{BASE}/{held}/discard", headers=admin.headers)).status_code == 409
    await h.settle()
    [event] = await h.events(type="email.quarantine_retried")
    assert event["data"]["ticket_id"] == body["ticket_id"] and event["metadata"]["actor_id"] == admin.id


async def test_two_retries_at_once_run_the_intake_once(harness: Harness, admin: User) -> None:
    h = harness
    held = await held_mail(h, corpus.plain(message_id="<race-1@customer.test>"))
    first, second = await asyncio.gather(
        h.client.post(f"{BASE}/{held}/retry", headers=admin.headers),
        h.client.post(f"{BASE}/{held}/retry", headers=admin.headers),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 409], (first.text, second.text)
    await h.settle()
    assert len(await h.events(type="ticket.created")) == 1


async def test_a_retry_of_a_message_stored_meanwhile_is_a_duplicate(harness: Harness, admin: User) -> None:
    h = harness
    held = await held_mail(h, corpus.plain(message_id="<plain-1@customer.test>"))
    assert isinstance(await _take(h, corpus.plain()), intake.Outcome)  # the MTA delivered it again, and it worked
    retried = await h.client.post(f"{BASE}/{held}/retry", headers=admin.headers)
    assert retried.status_code == 200 and retried.json()["outcome"] == "duplicate"
    await h.settle()
    assert len(await h.events(type="ticket.created")) == 1


async def test_a_retry_that_fails_again_stays_held_and_discard_drops_the_bytes(harness: Harness, admin: User) -> None:
    h = harness
    held = await _take(h, corpus.eight_bit_subject())
    assert isinstance(held, quarantine.Held)
    path = f"{BASE}/{held.quarantine_id}"
    retried = await h.client.post(f"{path}/retry", headers=admin.headers)
    assert retried.status_code == 200, retried.text
    assert retried.json()["state"] == "held" and retried.json()["attempts"] == 2
    assert retried.json()["error_type"] == "UnicodeEncodeError"

    discarded = await h.client.post(f"{path}/discard", headers=admin.headers)
    assert discarded.status_code == 200 and discarded.json()["state"] == "discarded"
    assert (await h.client.get(f"{path}/raw", headers=admin.headers)).status_code == 404
    assert (await h.client.post(f"{path}/retry", headers=admin.headers)).status_code == 409
    shown = await h.client.get(path, headers=admin.headers)
    assert shown.json()["subject"] == "Café printer is kaputt" and "raw" not in shown.json()
    await h.settle()
    [event] = await h.events(type="email.quarantine_discarded")
    assert event["data"]["quarantine_id"] == held.quarantine_id and event["metadata"]["actor_id"] == admin.id


async def test_only_admins_see_quarantined_mail(harness: Harness, admin: User, agent: User) -> None:
    h = harness
    held = await held_mail(h, corpus.plain(message_id="<plain-1@customer.test>"))
    for method, path in (("GET", BASE), ("GET", f"{BASE}/{held}"), ("POST", f"{BASE}/{held}/retry")):
        refused = await h.client.request(method, path, headers=agent.headers)
        assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    assert (await h.client.get(f"{BASE}/{held + 1000}", headers=admin.headers)).status_code == 404
    assert (await h.client.get(BASE, params={"state": "lost"}, headers=admin.headers)).status_code == 422


async def test_the_list_pages_newest_first(harness: Harness, admin: User) -> None:
    h = harness
    ids = [await held_mail(h, corpus.plain(message_id=f"<page-{n}@customer.test>")) for n in range(3)]
    first = (await h.client.get(BASE, params={"limit": 2}, headers=admin.headers)).json()
    assert [i["id"] for i in first["items"]] == [ids[2], ids[1]] and first["next_cursor"]
    rest = await h.client.get(BASE, params={"limit": 2, "cursor": first["next_cursor"]}, headers=admin.headers)
    assert [i["id"] for i in rest.json()["items"]] == [ids[0]] and rest.json()["next_cursor"] is None
