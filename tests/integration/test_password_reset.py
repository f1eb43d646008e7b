"""Password reset by mail, in both modes, through a real SMTP server (aiosmtpd) and NixFlow's notification
outbox: a link that works once, for a while, for whoever reads the mailbox, and tells nobody else anything."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select
from tests import mail_corpus as corpus
from tests.conftest import PASSWORD, Harness, ManualClock, User, mailing, start
from tests.smtp_server import SmtpServer

from nixflow.bootstrap import build
from nixflow.config import Settings
from nixflow.email_in import intake
from nixflow.email_in.parse import parse
from nixflow.store.tables import email_bounces, events, notifications, password_resets

NEW_PASSWORD = "a-brand-new-passphrase"
LINK = re.compile(r"https://help\.example\.com/password-reset/confirm#token=([A-Za-z0-9_-]+)")


@pytest.fixture
async def desk(settings: Settings, smtp: SmtpServer, clock: ManualClock) -> AsyncIterator[Harness]:
    configured = mailing(settings, smtp, delay=0).model_copy(
        update={"password_reset_max_per_address": 8, "password_reset_max_per_email": 3}
    )
    async for h in start(configured, nixflow=build(configured, clock=clock)):
        yield h


@pytest.fixture
async def desk_by_hand(settings: Settings, smtp: SmtpServer, clock: ManualClock) -> AsyncIterator[Harness]:
    """`desk` whose periodic jobs run only when the test says: a background run that began before the test moves
    the clock would still act as of the earlier time."""
    configured = mailing(settings, smtp, delay=0).model_copy(update={"tick_seconds": 3600})
    async for h in start(configured, nixflow=build(configured, clock=clock)):
        # The pass begun at start-up may still be running (and send mail) after the test's first request: stop
        # it, so every job runs only when the test says.
        await h.nixflow.scheduler.stop()
        yield h


async def ask(h: Harness, email: str, client: httpx.AsyncClient | None = None) -> httpx.Response:
    return await (client or h.client).post("/api/auth/password-reset", json={"email": email})


async def confirm(h: Harness, token: str, password: str = NEW_PASSWORD) -> httpx.Response:
    return await h.client.post("/api/auth/password-reset/confirm", json={"token": token, "password": password})


async def login(h: Harness, email: str, password: str) -> httpx.Response:
    return await h.client.post("/api/auth/login", json={"email": email, "password": password})


async def mails(h: Harness, smtp: SmtpServer, address: str, count: int) -> list[EmailMessage]:
    await h.settle()
    return await asyncio.to_thread(smtp.inbox.wait_for, count, address=address, timeout=20)


def token_in(message: EmailMessage) -> str:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    found = LINK.findall(str(text.get_content()))
    assert len(found) == 1, text.get_content()
    assert found[0] in str(html.get_content())
    return str(found[0])


async def stored_everywhere(h: Harness) -> str:
    """Every event and notification row, and every password_resets row, as one text."""

    def read(conn: Any) -> str:
        rows = [dict(r._mapping) for t in (events, notifications, password_resets) for r in conn.execute(select(t))]
        return json.dumps(rows, default=str)

    return str(await h.nixflow.db.read(read))


def problem(response: httpx.Response, *, says: str) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert says in response.json()["detail"]


async def test_a_mailed_link_sets_a_new_password_and_ends_every_session(desk: Harness, smtp: SmtpServer) -> None:
    h = desk
    user = await h.user("agent", name="Ana Agent")
    # Mail about tickets is off for this user: a reset link is not a notification, and still goes.
    url = "/api/auth/me/notification-preferences"
    prefs = (await h.client.get(url, headers=user.headers)).json()
    prefs["email"] = dict.fromkeys(prefs["email"], False)
    assert (await h.client.put(url, json=prefs, headers=user.headers)).status_code == 200
    session = (await login(h, user.email, PASSWORD)).json()["token"]
    signed_in = {"Authorization": f"Bearer {session}"}
    assert (await h.client.get("/api/auth/me", headers=signed_in)).status_code == 200

    asked = await ask(h, user.email.upper())
    assert asked.status_code == 202
    [mail] = await mails(h, smtp, user.email, 1)
    assert mail["Subject"] == "Set a new NixFlow password" and mail["Auto-Submitted"] == "auto-generated"
    assert "Ana Agent" in str(mail["To"])
    token = token_in(mail)
    assert len(token) >= 43  # 32 random bytes
    # The token is nowhere in the database in the clear: not in events, the outbox row or the link's row.
    assert token not in await stored_everywhere(h)
    sealed = await h.nixflow.db.read(lambda c: c.execute(select(password_resets.c.token_sealed)).scalar())
    assert sealed is None  # the encrypted copy is gone once the mail is

    assert (await confirm(h, token)).status_code == 204
    assert (await h.client.get("/api/auth/me", headers=signed_in)).status_code == 401  # the old session ended
    assert (await login(h, user.email, PASSWORD)).status_code == 401
    assert (await login(h, user.email, NEW_PASSWORD)).status_code == 200
    assert (await h.client.get("/api/auth/me", headers=user.headers)).status_code == 200  # API tokens stay

    await h.settle()
    [requested] = await h.events(type="user.password_reset_requested")
    assert requested["data"]["outcome"] == "mailed" and requested["data"]["user_id"] == user.id
    [reset] = await h.events(type="user.password_reset")
    assert reset["data"]["user_id"] == user.id and reset["data"]["sessions_ended"] == 1
    assert reset["metadata"]["actor_id"] == user.id
    [sent] = await h.events(type="notification.sent")
    assert sent["data"]["recipient_id"] == user.id and sent["data"]["ticket_id"] is None
    assert (await h.client.get("/api/notifications", headers=user.headers)).json()["items"] == []  # not in-app
    assert token not in await stored_everywhere(h)


async def test_a_requester_made_from_an_inbound_mail_sets_a_first_password(desk: Harness, smtp: SmtpServer) -> None:
    h = desk
    config = intake.config_from(h.nixflow.settings)
    opened = await intake.deliver(h.nixflow.writer, parse(corpus.plain(), own_domain=config.domain), config)
    assert opened.outcome == "ticket"
    await h.settle()
    sender = "pat@customer.test"
    assert (await login(h, sender, NEW_PASSWORD)).status_code == 401  # no password yet

    assert (await ask(h, sender)).status_code == 202
    [mail] = await mails(h, smtp, sender, 1)
    assert (await confirm(h, token_in(mail))).status_code == 204
    signed = await login(h, sender, NEW_PASSWORD)
    assert signed.status_code == 200 and signed.json()["user"]["role"] == "requester"
    mine = await h.client.get("/api/tickets", headers={"Authorization": f"Bearer {signed.json()['token']}"})
    assert [t["id"] for t in mine.json()["items"]] == [opened.ticket_id]


async def test_an_unknown_or_inactive_address_gets_the_same_answer_and_no_mail(desk: Harness, smtp: SmtpServer) -> None:
    h = desk
    admin = await h.user("admin")
    known = await h.user("requester")
    gone = await h.user("requester")
    assert (await h.client.patch(f"/api/users/{gone.id}", json={"active": False}, headers=admin.headers)).is_success

    answers = [await ask(h, email) for email in (known.email, "nobody@example.com", gone.email)]
    assert {a.status_code for a in answers} == {202}
    assert len({a.text for a in answers}) == 1  # byte for byte the same body
    await mails(h, smtp, known.email, 1)
    await h.settle()
    assert [m["To"].addresses[0].addr_spec for m in smtp.inbox.messages] == [known.email]
    outcomes = {e["data"]["email"]: e["data"]["outcome"] for e in await h.events(type="user.password_reset_requested")}
    assert outcomes == {
        known.email: "mailed",
        "nobody@example.com": "unknown email",
        gone.email: "inactive or system user",
    }


async def test_expired_used_superseded_and_unknown_links_are_refused(
    desk: Harness, smtp: SmtpServer, clock: ManualClock
) -> None:
    h = desk
    user = await h.user("agent")
    assert (await ask(h, user.email)).status_code == 202
    [first] = await mails(h, smtp, user.email, 1)
    assert (await ask(h, user.email)).status_code == 202
    second = (await mails(h, smtp, user.email, 2))[1]
    old, new = token_in(first), token_in(second)
    assert old != new

    problem(await confirm(h, old), says="newer reset link")  # the second request replaced the first link
    problem(await confirm(h, "not-a-token-we-made"), says="not valid")
    assert (await confirm(h, new, password="short")).status_code == 422  # the password policy; nothing used
    assert (await login(h, user.email, PASSWORD)).status_code == 200  # nothing changed so far
    assert (await confirm(h, new)).status_code == 204
    problem(await confirm(h, new, password="yet-another-passphrase"), says="already used")
    assert (await login(h, user.email, NEW_PASSWORD)).status_code == 200

    assert (await ask(h, user.email)).status_code == 202
    late = token_in((await mails(h, smtp, user.email, 3))[2])
    clock.advance(minutes=61)  # NIXFLOW_PASSWORD_RESET_MINUTES defaults to 60
    problem(await confirm(h, late, password="too-late-passphrase"), says="expired")
    assert (await login(h, user.email, NEW_PASSWORD)).status_code == 200

    def links(conn: Any) -> int:
        return int(conn.execute(select(func.count()).select_from(password_resets)).scalar())

    assert await h.nixflow.db.read(links) == 3
    clock.advance(days=8)  # the hourly housekeeping forgets links a week past their expiry
    await h.nixflow.scheduler.run_due()
    assert await h.nixflow.db.read(links) == 0


async def test_requests_are_rate_limited_per_address_and_per_client(desk: Harness, clock: ManualClock) -> None:
    h = desk
    user = await h.user("requester")
    for _ in range(3):
        assert (await ask(h, user.email)).status_code == 202
    limited = await ask(h, user.email)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert limited.headers["content-type"].startswith("application/problem+json")
    # An unknown address is limited alike: a 429 tells nothing about whether an account exists.
    for _ in range(3):
        assert (await ask(h, "ghost@example.com")).status_code == 202
    assert (await ask(h, "ghost@example.com")).status_code == 429
    # Per client: 8 requests in the window (this test's setting), whatever the addresses.
    assert (await ask(h, "one@example.com")).status_code == 202
    assert (await ask(h, "two@example.com")).status_code == 202
    assert (await ask(h, "three@example.com")).status_code == 429
    other = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=h.app, client=("203.0.113.9", 4000)), base_url="http://t"
    )
    async with other:
        assert (await ask(h, "three@example.com", other)).status_code == 202  # another client is not blocked
    # Sign-in and reset keep separate counts: the reset requests did not lock the account.
    assert (await login(h, user.email, PASSWORD)).status_code == 200
    clock.advance(seconds=int(limited.headers["retry-after"]) + 1)
    assert (await ask(h, user.email)).status_code == 202
    await h.settle()
    refused = [e for e in await h.events(type="user.password_reset_requested") if e["data"]["outcome"] != "mailed"]
    assert [e["data"]["outcome"] for e in refused].count("too many requests") == 3


async def attempted_while_down(h: Harness) -> str:
    """Once the sender has tried the mail while the server is down and put it back to wait (status `pending`, the
    outage noted; an outage is not counted as an attempt): a test that moves on earlier races an attempt still in
    flight (status `sending`)."""
    for _ in range(300):
        await h.settle()
        row = await h.nixflow.db.read(
            lambda c: c.execute(select(notifications.c.email_status, notifications.c.last_error)).first()
        )
        assert row is not None
        if row.email_status != "sending" and row.last_error is not None:
            return str(row.email_status)
        await asyncio.sleep(0.05)
    raise AssertionError(f"the sender never tried the mail: {row}")


async def test_a_reset_mail_waits_out_a_mail_server_outage_and_goes_to_a_bouncing_address(
    desk: Harness, smtp: SmtpServer
) -> None:
    h = desk
    user: User = await h.user("requester")
    await h.write(
        lambda tx: tx.conn.execute(insert(email_bounces).values(address=user.email, reason="test", since=tx.now))
    )
    smtp.stop()
    assert (await ask(h, user.email)).status_code == 202
    assert await attempted_while_down(h) == "pending"  # kept, not lost
    smtp.start()
    [mail] = await mails(h, smtp, user.email, 1)
    assert (await confirm(h, token_in(mail))).status_code == 204


async def test_a_link_that_expired_during_an_outage_is_not_mailed(
    desk_by_hand: Harness, smtp: SmtpServer, clock: ManualClock
) -> None:
    h = desk_by_hand
    user = await h.user("requester")
    smtp.stop()
    assert (await ask(h, user.email)).status_code == 202
    await h.settle()
    await h.nixflow.scheduler.run_due()  # tried while the server is down: it waits
    assert await h.nixflow.db.read(lambda conn: conn.execute(select(notifications.c.last_error)).scalar())
    clock.advance(minutes=61)
    smtp.start()
    await h.nixflow.scheduler.run_due()

    def outcome(conn: Any) -> tuple[Any, Any]:
        status = conn.execute(select(notifications.c.email_status)).scalar()
        return status, conn.execute(select(password_resets.c.token_sealed)).scalar()

    assert await h.nixflow.db.read(outcome) == ("cancelled", None)
    assert smtp.inbox.messages == []
