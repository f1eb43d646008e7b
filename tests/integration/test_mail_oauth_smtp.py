"""Notification mail sent with XOAUTH2, in both modes: the SMTP server (aiosmtpd) asks the OAuth2 provider whether
each token is good; a refused token is refreshed once; a revoked grant keeps the mail queued until reconnecting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

import pytest
from tests.conftest import Harness, ManualClock, User, mailing, start
from tests.oauth_helpers import (
    active,
    add_mailbox,
    consent,
    mailbox_client,
    oauth_smtp_server,
    revoke,
    stored_refresh_token,
)
from tests.smtp_server import SmtpServer

from nixflow.bootstrap import build
from nixflow.config import Settings
from nixflow.notifications.smtp import Mailer, Outage, SmtpTarget

ADDRESS = "helpdesk@example.com"


@pytest.fixture
def oauth_smtp() -> Iterator[SmtpServer]:
    with oauth_smtp_server() as server:
        yield server


def _url(smtp: SmtpServer) -> str:
    """The SMTP server as the mailbox's user, with no password: the sender signs in with OAuth2."""
    return f"smtp://{quote(ADDRESS)}@127.0.0.1:{smtp.port}"


@pytest.fixture
async def h(settings: Settings, oauth_smtp: SmtpServer) -> AsyncIterator[Harness]:
    sending = mailing(settings, oauth_smtp, delay=0).model_copy(update={"smtp_url": _url(oauth_smtp)})
    async for running in start(sending):
        yield running


@pytest.fixture
async def frozen(settings: Settings, oauth_smtp: SmtpServer, clock: ManualClock) -> AsyncIterator[Harness]:
    """NixFlow sending through `oauth_smtp`, on a clock that stands still: it never refreshes a token on its own."""
    sending = mailing(settings, oauth_smtp, delay=0).model_copy(update={"smtp_url": _url(oauth_smtp)})
    async for running in start(sending, nixflow=build(sending, clock=clock)):
        yield running


async def _connected(h: Harness, admin: User, **metadata: Any) -> int:
    mailbox = await add_mailbox(h, admin, ADDRESS, **metadata)
    back = await consent(h, admin, int(mailbox["id"]), ADDRESS)
    assert back.status_code == 200, back.text
    return int(mailbox["id"])


def _message(to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = ADDRESS, to, "Hello"
    message.set_content("hello")
    return message


async def test_mail_goes_out_with_a_token_the_server_checked_and_a_refused_one_is_refreshed(
    frozen: Harness, oauth_smtp: SmtpServer
) -> None:
    h = frozen
    admin = await h.user("admin")
    await _connected(h, admin, access_token_ttl=2)
    tokens = h.nixflow.mail_tokens
    assert tokens is not None
    mailer = Mailer(SmtpTarget.from_url(_url(oauth_smtp)), timeout=5, tokens=tokens)
    try:
        await mailer.send(_message("first@customer.test"))
    finally:
        await mailer.close()
    # The token lapsed at the provider while NixFlow's clock says it is good: the server refuses it, the sender
    # refreshes it once.
    held, client = await tokens.login_for(ADDRESS), await mailbox_client(h, ADDRESS)
    for _ in range(100):
        if not active(held.token, client)["active"]:
            break
        await asyncio.sleep(0.1)
    mailer = Mailer(SmtpTarget.from_url(_url(oauth_smtp)), timeout=5, tokens=tokens)
    try:
        await mailer.send(_message("second@customer.test"))
    finally:
        await mailer.close()
    inbox = oauth_smtp.inbox
    assert [str(m["To"]) for m in inbox.messages] == ["first@customer.test", "second@customer.test"]
    assert inbox.signed_in == [ADDRESS, ADDRESS]  # type: ignore[attr-defined]


async def test_a_password_less_url_without_a_connected_mailbox_sends_nothing(
    h: Harness, oauth_smtp: SmtpServer
) -> None:
    assert h.nixflow.mail_tokens is not None
    mailer = Mailer(SmtpTarget.from_url(_url(oauth_smtp)), timeout=5, tokens=h.nixflow.mail_tokens)
    try:
        with pytest.raises(Outage, match="no OAuth2 mailbox"):
            await mailer.send(_message("nobody@customer.test"))
    finally:
        await mailer.close()
    assert oauth_smtp.inbox.messages == []


async def test_a_revoked_grant_keeps_notification_mail_queued_until_the_mailbox_is_reconnected(
    h: Harness, oauth_smtp: SmtpServer
) -> None:
    admin = await h.user("admin")
    agent = await h.user("agent")
    requester = await h.user("requester")
    mailbox_id = await _connected(h, admin)
    revoke(await stored_refresh_token(h, ADDRESS), await mailbox_client(h, ADDRESS))
    made = await h.client.post("/api/categories", json={"name": "Desk", "agent_ids": [agent.id]}, headers=admin.headers)
    body = {"title": "Printer jams", "category_id": made.json()["id"]}
    assert (await h.client.post("/api/tickets", json=body, headers=requester.headers)).status_code == 201
    await h.settle()
    for _ in range(200):  # the sender tried (and paused the mailbox) on one of its ticks
        if await h.events(type="mailbox.paused"):
            break
        await asyncio.sleep(0.05)
    assert len(await h.events(type="mailbox.paused")) == 1
    assert oauth_smtp.inbox.to(agent.email) == []
    assert await h.events(type="notification.failed") == []  # waiting, not given up

    back = await consent(h, admin, mailbox_id, ADDRESS)
    assert back.status_code == 200, back.text
    [mail] = await asyncio.to_thread(oauth_smtp.inbox.wait_for, 1, address=agent.email, timeout=20)
    assert "Printer jams" in str(mail["Subject"])
