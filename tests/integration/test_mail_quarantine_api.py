"""Admins see quarantined mail and retry or discard it (`/api/mail/quarantine`), in both modes. The mail is held for
real: a database trigger refuses its ticket (tests/quarantine_helpers.py), and dropping it is the fix."""

from __future__ import annotations

import asyncio

from tests.conftest import Harness, User
from tests.quarantine_helpers import REFUSAL, fix, held_mail, poison, take

from nixflow.email_in import intake

BASE = "/api/mail/quarantine"


async def test_a_mail_held_before_a_fix_is_retried_into_a_ticket_once(harness: Harness, admin: User) -> None:
    h = harness
    held = await held_mail(h)
    listed = await h.client.get(BASE, params={"state": "held"}, headers=admin.headers)
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert item["id"] == held and item["error_type"] == "IntegrityError" and REFUSAL in item["error"]
    assert "Traceback" not in item["error"] and "\n" not in item["error"]
    raw = await h.client.get(f"{BASE}/{held}/raw", headers=admin.headers)
    assert raw.status_code == 200 and raw.content == poison()
    assert raw.headers["content-type"] == "message/rfc822" and "attachment" in raw.headers["content-disposition"]

    fix(h.nixflow.settings.database_url)
    retried = await h.client.post(f"{BASE}/{held}/retry", headers=admin.headers)
    assert retried.status_code == 200, retried.text
    body = retried.json()
    assert body["state"] == "retried" and body["outcome"] == "ticket" and body["ticket_id"] is not None
    assert body["sender"] == "pat@customer.test" and body["subject"] == "poison"
    ticket = await h.client.get(f"/api/tickets/{body['ticket_id']}", headers=admin.headers)
    assert ticket.json()["title"] == "poison"
    again = await h.client.post(f"{BASE}/{held}/retry", headers=admin.headers)
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    assert (await h.client.post(f"{BASE}/{held}/discard", headers=admin.headers)).status_code == 409
    await h.settle()
    [event] = await h.events(type="email.quarantine_retried")
    assert event["data"]["ticket_id"] == body["ticket_id"] and event["metadata"]["actor_id"] == admin.id


async def test_two_retries_at_once_run_the_intake_once(harness: Harness, admin: User) -> None:
    h = harness
    held = await held_mail(h, "<race-1@customer.test>")
    fix(h.nixflow.settings.database_url)
    first, second = await asyncio.gather(
        h.client.post(f"{BASE}/{held}/retry", headers=admin.headers),
        h.client.post(f"{BASE}/{held}/retry", headers=admin.headers),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 409], (first.text, second.text)
    await h.settle()
    assert len(await h.events(type="ticket.created")) == 1


async def test_a_retry_of_a_message_stored_meanwhile_is_a_duplicate(harness: Harness, admin: User) -> None:
    h = harness
    held = await held_mail(h)
    fix(h.nixflow.settings.database_url)
    assert isinstance(await take(h, poison()), intake.Outcome)  # the MTA delivered it again, and it worked
    retried = await h.client.post(f"{BASE}/{held}/retry", headers=admin.headers)
    assert retried.status_code == 200 and retried.json()["outcome"] == "duplicate"
    await h.settle()
    assert len(await h.events(type="ticket.created")) == 1


async def test_a_retry_that_fails_again_stays_held_and_discard_drops_the_bytes(harness: Harness, admin: User) -> None:
    h = harness
    held = await held_mail(h)
    path = f"{BASE}/{held}"
    retried = await h.client.post(f"{path}/retry", headers=admin.headers)
    assert retried.status_code == 200, retried.text
    assert retried.json()["state"] == "held" and retried.json()["attempts"] == 2
    assert retried.json()["error_type"] == "IntegrityError" and REFUSAL in retried.json()["error"]

    discarded = await h.client.post(f"{path}/discard", headers=admin.headers)
    assert discarded.status_code == 200 and discarded.json()["state"] == "discarded"
    assert (await h.client.get(f"{path}/raw", headers=admin.headers)).status_code == 404
    assert (await h.client.post(f"{path}/retry", headers=admin.headers)).status_code == 409
    shown = await h.client.get(path, headers=admin.headers)
    assert shown.json()["subject"] == "poison" and "raw" not in shown.json()
    await h.settle()
    [event] = await h.events(type="email.quarantine_discarded")
    assert event["data"]["quarantine_id"] == held and event["metadata"]["actor_id"] == admin.id
    assert await h.events(type="ticket.created") == []  # the failed unit of work left nothing behind


async def test_only_admins_see_quarantined_mail(harness: Harness, admin: User, agent: User) -> None:
    h = harness
    held = await held_mail(h)
    for method, path in (("GET", BASE), ("GET", f"{BASE}/{held}"), ("POST", f"{BASE}/{held}/retry")):
        refused = await h.client.request(method, path, headers=agent.headers)
        assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    assert (await h.client.get(f"{BASE}/{held + 1000}", headers=admin.headers)).status_code == 404
    assert (await h.client.get(BASE, params={"state": "lost"}, headers=admin.headers)).status_code == 422


async def test_the_list_pages_newest_first(harness: Harness, admin: User) -> None:
    h = harness
    ids = [await held_mail(h, f"<page-{n}@customer.test>") for n in range(3)]
    first = (await h.client.get(BASE, params={"limit": 2}, headers=admin.headers)).json()
    assert [i["id"] for i in first["items"]] == [ids[2], ids[1]] and first["next_cursor"]
    rest = await h.client.get(BASE, params={"limit": 2, "cursor": first["next_cursor"]}, headers=admin.headers)
    assert [i["id"] for i in rest.json()["items"]] == [ids[0]] and rest.json()["next_cursor"] is None
