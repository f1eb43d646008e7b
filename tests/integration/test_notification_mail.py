"""Notification mail through a real SMTP server (aiosmtpd in the test process), in both modes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from tests.conftest import Harness, User, mailing, start
from tests.mail_marker import mail_before_a_marker
from tests.smtp_server import SmtpServer, addressed

from nixflow.config import Settings

DELAY = 1.0


@pytest.fixture
async def mail_harness(settings: Settings, smtp: SmtpServer) -> AsyncIterator[Harness]:
    async for h in start(mailing(settings, smtp, delay=DELAY)):
        yield h


async def _setup(h: Harness) -> tuple[User, User, User, int]:
    admin = await h.user("admin")
    agent = await h.user("agent", name="Ana Agent")
    requester = await h.user("requester", name="Rita Requester")
    made = await h.client.post("/api/categories", json={"name": "Desk", "agent_ids": [agent.id]}, headers=admin.headers)
    assert made.status_code == 201, made.text
    return admin, agent, requester, int(made.json()["id"])


async def _open(h: Harness, requester: User, category_id: int) -> int:
    body = {"title": "Printer jams", "description": "floor 2", "category_id": category_id}
    opened = await h.client.post("/api/tickets", json=body, headers=requester.headers)
    assert opened.status_code == 201, opened.text
    await h.settle()  # automation first: a comment racing the assignment would be a 409 (stale version)
    return int(opened.json()["id"])


async def _comment(h: Harness, user: User, ticket_id: int, body: str, *, internal: bool = False) -> None:
    said = await h.client.post(
        f"/api/tickets/{ticket_id}/comments", json={"body": body, "internal": internal}, headers=user.headers
    )
    assert said.status_code == 201, said.text


async def _mail(smtp: SmtpServer, count: int, address: str, wait: float = 20.0) -> list[Any]:
    return await asyncio.to_thread(smtp.inbox.wait_for, count, address=address, timeout=wait)


async def _sent_so_far(h: Harness, smtp: SmtpServer) -> list[EmailMessage]:
    """Every mail the changes so far cause, once a later marker mail arrived (mail that should not go would be here)."""
    await h.settle()
    return await mail_before_a_marker(h, smtp)


def _text(message: Any) -> str:
    return str(message.get_body(preferencelist=("plain",)).get_content())


def _html(message: Any) -> str:
    return str(message.get_body(preferencelist=("html",)).get_content())


async def test_round_robin_assignment_sends_one_threaded_mail(mail_harness: Harness, smtp: SmtpServer) -> None:
    h = mail_harness
    _admin, agent, requester, category_id = await _setup(h)
    ticket_id = await _open(h, requester, category_id)
    [mail] = await _mail(smtp, 1, agent.email)
    thread = f"<ticket-{ticket_id}@example.com>"
    assert mail["Subject"] == f"[#{ticket_id}] Printer jams"
    assert mail["In-Reply-To"] == thread and mail["References"] == thread
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["From"] == "NixFlow <help@example.com>"
    assert "Assigned to Ana Agent" in _text(mail)
    assert f"https://help.example.com/tickets/{ticket_id}" in _text(mail)
    assert 'style="' in _html(mail) and "<style" not in _html(mail)  # CSS inlined
    assert await _sent_so_far(h, smtp) == [mail]  # the requester caused it and is told nothing
    [sent] = [e for e in await h.events(type="notification.sent") if e["data"]["ticket_id"] == ticket_id]
    assert sent["data"]["message_id"] == mail["Message-ID"] and sent["data"]["recipient_id"] == agent.id


async def test_three_comments_in_the_window_make_one_mail_and_the_requester_gets_none(
    mail_harness: Harness, smtp: SmtpServer
) -> None:
    h = mail_harness
    _admin, agent, requester, category_id = await _setup(h)
    ticket_id = await _open(h, requester, category_id)
    for n in (1, 2, 3):
        await _comment(h, requester, ticket_id, f"comment number {n}")
    [mail] = await _mail(smtp, 1, agent.email)
    assert await _sent_so_far(h, smtp) == [mail]  # one to the agent, none to the requester
    text = _text(mail)
    assert all(f"comment number {n}" in text for n in (1, 2, 3))
    await _comment(h, agent, ticket_id, "a reply after the window")
    [reply] = await _mail(smtp, 1, requester.email)
    assert reply["References"] == f"<ticket-{ticket_id}@example.com>" and reply["Message-ID"] != mail["Message-ID"]


async def test_an_internal_note_never_reaches_the_requester_by_mail(mail_harness: Harness, smtp: SmtpServer) -> None:
    h = mail_harness
    _admin, agent, requester, category_id = await _setup(h)
    ticket_id = await _open(h, requester, category_id)
    await _comment(h, agent, ticket_id, "secret internal remark", internal=True)
    await _comment(h, agent, ticket_id, "we are on it")
    [mail] = await _mail(smtp, 1, requester.email)
    assert "we are on it" in _text(mail) and "secret" not in mail.as_string()
    assert addressed(await _sent_so_far(h, smtp), requester.email) == [mail]


async def test_a_preference_switched_off_sends_nothing(mail_harness: Harness, smtp: SmtpServer) -> None:
    h = mail_harness
    _admin, agent, requester, category_id = await _setup(h)
    url = "/api/auth/me/notification-preferences"
    prefs = (await h.client.get(url, headers=agent.headers)).json()
    prefs["email"] = {**prefs["email"], "assigned": False, "comments": False}
    assert (await h.client.put(url, json=prefs, headers=agent.headers)).status_code == 200
    ticket_id = await _open(h, requester, category_id)
    await _comment(h, requester, ticket_id, "hello?")
    assert await _sent_so_far(h, smtp) == []
    notes = (await h.client.get("/api/notifications", headers=agent.headers)).json()["items"]
    assert [n["kind"] for n in notes] == ["comments", "assigned"]  # in-app is still on


async def test_assigned_a_b_a_inside_the_window_sends_nothing_about_it(mail_harness: Harness, smtp: SmtpServer) -> None:
    h = mail_harness
    admin, agent, requester, category_id = await _setup(h)
    ticket_id = await _open(h, requester, category_id)
    await _mail(smtp, 1, agent.email)
    other = await h.user("agent")
    for assignee in (other.id, agent.id):
        version = (await h.client.get(f"/api/tickets/{ticket_id}", headers=admin.headers)).json()["version"]
        moved = await h.client.patch(
            f"/api/tickets/{ticket_id}", json={"version": version, "assignee_id": assignee}, headers=admin.headers
        )
        assert moved.status_code == 200, moved.text
    sent = await _sent_so_far(h, smtp)
    assert len(addressed(sent, agent.email)) == 1 and addressed(sent, other.email) == []


async def test_a_refused_mail_ends_failed_with_the_reason_and_others_still_go(
    mail_harness: Harness, smtp: SmtpServer
) -> None:
    h = mail_harness
    _admin, agent, requester, category_id = await _setup(h)
    smtp.inbox.refused.add(agent.email)
    ticket_id = await _open(h, requester, category_id)
    await _comment(h, agent, ticket_id, "on it")
    await _mail(smtp, 1, requester.email)  # after the agent's mail (due first) was tried and given up
    [failed] = await h.events(type="notification.failed")
    assert failed["data"]["recipient_id"] == agent.id and "550" in failed["data"]["error"]
    assert failed["data"]["attempt"] == 1  # a permanent refusal is not retried


@pytest.mark.slow
async def test_smtp_down_for_ten_seconds_delays_mail_and_loses_none(mail_harness: Harness, smtp: SmtpServer) -> None:
    h = mail_harness
    _admin, agent, requester, category_id = await _setup(h)
    smtp.stop()
    ticket_id = await _open(h, requester, category_id)
    await _comment(h, agent, ticket_id, "looking into it")
    await asyncio.sleep(10)  # the outage: the sender keeps trying meanwhile
    pending = await h.events(type="notification.sent") + await h.events(type="notification.failed")
    assert pending == []
    smtp.start()
    await _mail(smtp, 1, agent.email, wait=30)
    await _mail(smtp, 1, requester.email, wait=30)
    sent = await _sent_so_far(h, smtp)
    assert len(addressed(sent, agent.email)) == 1 and len(addressed(sent, requester.email)) == 1
    assert len([e for e in await h.events(type="notification.sent") if e["data"]["ticket_id"] == ticket_id]) == 2


async def test_an_hourly_digest_gathers_the_mail_into_one(mail_harness: Harness, smtp: SmtpServer) -> None:
    h = mail_harness
    _admin, agent, requester, category_id = await _setup(h)
    url = "/api/auth/me/notification-preferences"
    prefs = (await h.client.get(url, headers=agent.headers)).json()
    assert (await h.client.put(url, json={**prefs, "digest": "hourly"}, headers=agent.headers)).status_code == 200
    first = await _open(h, requester, category_id)
    second = await _open(h, requester, category_id)
    await _comment(h, requester, first, "digest me please")
    assert await _sent_so_far(h, smtp) == []  # waiting for the digest
    later = datetime.now(UTC) + timedelta(hours=1, minutes=1)
    await h.nixflow.scheduler.run_due(now=later)
    [digest] = await _mail(smtp, 1, agent.email)
    text = _text(digest)
    assert digest["Subject"] == "NixFlow digest: 3 notifications"
    assert "digest me please" in text and f"/tickets/{first}" in text and f"/tickets/{second}" in text
    await h.settle()
    [event] = await h.events(type="notification.digest_sent")
    assert event["data"]["recipient_id"] == agent.id and event["data"]["notification_count"] == 3
    await h.nixflow.scheduler.run_due(now=later + timedelta(minutes=5))
    await _comment(h, requester, first, "after the digest")
    assert (await h.client.put(url, json={**prefs, "digest": "off"}, headers=agent.headers)).status_code == 200
    await _mail(smtp, 2, agent.email)  # back to one mail per change, nothing left waiting
    assert len(addressed(await _sent_so_far(h, smtp), agent.email)) == 2
