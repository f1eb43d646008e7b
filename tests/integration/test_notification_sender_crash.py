"""A worker killed in the middle of sending mail, and workers racing for the same mail: each mail goes once."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.conftest import Harness, User, start
from tests.mail_marker import mail_before_a_marker
from tests.smtp_server import SmtpServer, addressed, smtp_server
from tests.workers import Workers

from nixflow.config import Settings
from nixflow.store.tables import notifications

STALE_SECONDS = 3.0


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def mailing(settings: Settings, smtp: SmtpServer) -> Settings:
    return settings.model_copy(
        update={
            "smtp_url": smtp.url,
            "mail_from": "NixFlow <help@example.com>",
            "notify_delay_seconds": 0.3,
            "claim_idle_seconds": STALE_SECONDS,
            "tick_seconds": 0.1,
        }
    )


@pytest.fixture
async def api_only(mailing: Settings) -> AsyncIterator[Harness]:
    """This process serves the API only; workers are separate processes, as in production."""
    async for h in start(mailing, run_worker=False):
        yield h


@pytest.fixture
def workers(mailing: Settings, tmp_path: Path) -> Iterator[Workers]:
    running = Workers(mailing, tmp_path)
    yield running
    running.stop()


async def _comment(h: Harness, user: User, ticket_id: int, body: str) -> None:
    said = await h.client.post(f"/api/tickets/{ticket_id}/comments", json={"body": body}, headers=user.headers)
    assert said.status_code == 201, said.text


async def _all_sent(h: Harness, user_id: int) -> None:
    """Wait until every notification of the user is `sent`: none waiting, none still claimed."""
    query = select(notifications.c.email_status).where(notifications.c.recipient_id == user_id)
    statuses: list[str] = []
    for _ in range(300):
        statuses = await h.nixflow.db.read(lambda conn: list(conn.execute(query).scalars()))
        if set(statuses) == {"sent"}:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the notifications of user {user_id} are not all sent: {statuses}")


@pytest.mark.slow
async def test_a_sender_killed_mid_send_and_restarted_sends_each_mail_once(
    api_only: Harness, smtp: SmtpServer, workers: Workers, mode: str
) -> None:
    h = api_only
    agent = await h.user("agent", name="Ana Agent")
    requester = await h.user("requester")
    smtp.inbox.hold_next = True
    first = workers.start()
    opened = await h.client.post(
        "/api/tickets", json={"title": "Printer jams", "description": "floor 2"}, headers=requester.headers
    )
    ticket_id = opened.json()["id"]
    watch = await h.client.post(f"/api/tickets/{ticket_id}/watchers", json={"user_id": agent.id}, headers=agent.headers)
    assert watch.status_code == 201, watch.text
    await _comment(h, requester, ticket_id, "the first comment")
    assert await asyncio.to_thread(smtp.inbox.held.wait, 60), "the worker never started sending"
    first.send_signal(signal.SIGKILL)  # in the middle of the SMTP conversation
    first.wait(timeout=10)
    smtp.inbox.release.set()  # the server then refuses what the dead client was sending

    workers.start()
    if mode == "scaleout":
        workers.start()  # two workers racing for the same mail
    for n in range(2, 5):
        other = await h.client.post(
            "/api/tickets", json={"title": f"Ticket {n}", "description": "x"}, headers=requester.headers
        )
        await h.client.post(
            f"/api/tickets/{other.json()['id']}/watchers", json={"user_id": agent.id}, headers=agent.headers
        )
        await _comment(h, requester, other.json()["id"], f"comment on ticket {n}")
    await asyncio.to_thread(smtp.inbox.wait_for, 4, address=agent.email, timeout=60)
    await _all_sent(h, agent.id)  # none still claimed: a claim left behind would be released and sent again first
    # Mail falls due in the order it was made: a duplicate of anything claimed so far would come before the marker.
    mails = addressed(await mail_before_a_marker(h, smtp), agent.email)
    subjects = sorted(str(m["Subject"]) for m in mails)
    assert len(mails) == 4, subjects
    assert f"[#{ticket_id}] Printer jams" in subjects
    assert any("the first comment" in m.as_string() for m in mails)
    assert len({m["Message-ID"] for m in mails}) == 4
    sent = [e for e in await h.events(type="notification.sent") if e["data"]["recipient_id"] == agent.id]
    assert sorted(e["data"]["message_id"] for e in sent) == sorted(str(m["Message-ID"]) for m in mails)
