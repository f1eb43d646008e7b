"""OAuth2 mailboxes against real servers, in both modes: an admin connects a mailbox at the OAuth2 provider
(tests/oauth_server.py), the poller signs in to Dovecot with its token (Dovecot asks the provider), tokens are
refreshed before they expire and when refused, and a revoked grant pauses the mailbox until it is reconnected."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from imap_tools import BaseMailBox
from tests import mail_corpus as corpus
from tests.conftest import PASSWORD, Harness, ManualClock, User, not_running, start
from tests.mail_helpers import imap_folder, unseen
from tests.oauth_helpers import active, add_mailbox, consent, mailbox_client, revoke, stored_refresh_token

from nixflow.config import Settings
from nixflow.email_in import intake
from nixflow.email_in.imap_target import OAuthRefused
from nixflow.email_in.mailbox import MailboxPoller
from nixflow.ids import uuid7
from nixflow.services.mail_tokens import MailboxPaused
from nixflow.store import mail_oauth

ADDRESS = "nixflow-oauth"  # Dovecot's test account that signs in with a token (scripts/services.sh)


@pytest.fixture
def oauth_folder() -> Iterator[tuple[str, BaseMailBox]]:
    """A folder of this test's own in the OAuth2 account's mailbox, a client filling it (with the account's
    password), and the poller's URL for it: the same account with no password, so it signs in with OAuth2."""
    imap_url = os.environ.get("NIXFLOW_TEST_IMAP_OAUTH_URL")
    if imap_url is None:
        not_running("Dovecot with OAuth2")
    with imap_folder(imap_url) as (url, box):
        parts = urlsplit(url)
        yield f"imap://{ADDRESS}@{parts.hostname}:{parts.port}{parts.path}", box


async def _poll(h: Harness, url: str) -> int:
    """One pass of a poller signing in as the OAuth2 mailbox; how many messages it took."""
    poller = _poller(h, url)
    try:
        return await poller.poll_once()
    finally:
        poller._close()


def _poller(h: Harness, url: str) -> MailboxPoller:
    config = intake.config_from(h.nixflow.settings)
    return MailboxPoller(url=url, writer=h.nixflow.writer, config=config, poll_seconds=1, tokens=h.nixflow.mail_tokens)


async def _connected(h: Harness, admin: User) -> dict[str, object]:
    mailbox = await add_mailbox(h, admin, ADDRESS)
    assert mailbox["status"] == "not_connected"
    back = await consent(h, admin, int(mailbox["id"]), ADDRESS)
    assert back.status_code == 200, back.text
    return dict(back.json())


async def test_an_admin_connects_a_mailbox_and_its_mail_is_polled_with_a_token(
    harness: Harness, admin: User, oauth_folder: tuple[str, BaseMailBox]
) -> None:
    h = harness
    url, box = oauth_folder
    connected = await _connected(h, admin)
    assert connected["status"] == "connected"
    assert "refresh_token" not in connected and "client_secret" not in connected
    row = await h.nixflow.db.read(lambda conn: mail_oauth.by_address(conn, ADDRESS))
    plain = await stored_refresh_token(h, ADDRESS)
    assert plain not in row.refresh_token  # stored encrypted

    box.append(corpus.plain(), box.folder.get(), dt=None, flag_set=())
    assert await _poll(h, url) == 1
    assert unseen(box) == 0
    await h.settle()
    assert len(await h.events(type="ticket.created")) == 1
    kinds = [e["type"] for e in await h.events(category="mailbox")]
    assert kinds == ["mailbox.added", "mailbox.connected"]


async def test_the_mailboxes_page_connects_a_mailbox_and_shows_it_connected(harness: Harness, admin: User) -> None:
    h = harness
    address = f"desk-{uuid7()[-8:]}"
    mailbox = await add_mailbox(h, admin, address)
    await h.client.post("/api/auth/login", json={"email": admin.email, "password": PASSWORD})  # the page's cookie
    answer = await h.client.get("/admin/mailboxes")
    assert answer.status_code == 200, answer.text[:500]
    page = answer.text
    row = page[page.index(f'data-mailbox-id="{mailbox["id"]}"') :]
    assert "not connected" in row.split("</tr>")[0]
    assert f'href="/api/mail/oauth/start?mailbox_id={mailbox["id"]}" aria-label="Connect {address}">Connect</a>' in row
    back = await consent(h, admin, int(mailbox["id"]), address, accept="text/html,application/xhtml+xml")
    assert back.status_code == 303 and back.headers["location"] == "/admin/mailboxes", back.text
    page = (await h.client.get("/admin/mailboxes")).text
    row = page[page.index(f'data-mailbox-id="{mailbox["id"]}"') :].split("</tr>")[0]
    assert ">connected</span>" in row and f'aria-label="Reconnect {address}">Reconnect</a>' in row


async def test_a_replayed_or_foreign_state_connects_nothing(harness: Harness, admin: User) -> None:
    h = harness
    mailbox = await add_mailbox(h, admin, f"someone-{uuid7()[-8:]}")
    back = await consent(h, admin, int(mailbox["id"]), "someone")
    assert back.status_code == 200, back.text
    replayed = await h.client.get(back.request.url.raw_path.decode(), headers=admin.headers)
    assert replayed.status_code == 400, replayed.text
    assert replayed.headers["content-type"].startswith("application/problem+json")

    other_admin = await h.user("admin")
    started = await h.client.get("/api/mail/oauth/start", params={"mailbox_id": mailbox["id"]}, headers=admin.headers)
    state = dict(p.split("=", 1) for p in urlsplit(started.headers["location"]).query.split("&"))["state"]
    foreign = await h.client.get(
        "/api/mail/oauth/callback", params={"state": state, "code": "x"}, headers=other_admin.headers
    )
    assert foreign.status_code == 400, foreign.text
    assert len(await h.events(type="mailbox.connected")) == 1  # only the first, good, answer


async def test_a_token_near_its_expiry_is_refreshed_before_use(timed_harness: Harness, clock: ManualClock) -> None:
    h = timed_harness
    admin = await h.user("admin")
    await _connected(h, admin)
    tokens = h.nixflow.mail_tokens
    assert tokens is not None
    first = await tokens.login_for(ADDRESS)
    assert (await tokens.login_for(ADDRESS)).token == first.token  # kept in memory while it is good
    clock.advance(seconds=250)  # the provider's tokens last 5 minutes: this one is in the last fifth of its life
    second = await tokens.login_for(ADDRESS)
    assert second.token != first.token
    assert active(first.token, await mailbox_client(h, ADDRESS))["active"]  # refreshed before it lapsed


async def test_a_token_the_server_refuses_is_refreshed_once_and_the_mail_taken(
    timed_harness: Harness, oauth_folder: tuple[str, BaseMailBox]
) -> None:
    """The token lapsed at the provider while NixFlow's clock says it is good (clocks disagree): Dovecot refuses it,
    the poller refreshes it once and signs in. The tokens last 8 s, so the fresh one outlives the refusal's round
    trip even on a busy machine. NixFlow's clock stands still, so it would never refresh the token on its own."""
    h = timed_harness
    url, box = oauth_folder
    admin = await h.user("admin")
    mailbox = await add_mailbox(h, admin, ADDRESS, access_token_ttl=8)
    assert (await consent(h, admin, int(mailbox["id"]), ADDRESS)).status_code == 200
    tokens = h.nixflow.mail_tokens
    assert tokens is not None
    held = await tokens.login_for(ADDRESS)
    client = await mailbox_client(h, ADDRESS)
    for _ in range(200):  # until the provider says it lapsed
        if not active(held.token, client)["active"]:
            break
        await asyncio.sleep(0.1)
    box.append(corpus.plain(), box.folder.get(), dt=None, flag_set=())
    assert await _poll(h, url) == 1
    assert unseen(box) == 0


async def test_a_revoked_grant_pauses_the_mailbox_and_after_reconnecting_nothing_is_lost(
    harness: Harness, admin: User, oauth_folder: tuple[str, BaseMailBox]
) -> None:
    h = harness
    url, box = oauth_folder
    connected = await _connected(h, admin)
    revoke(await stored_refresh_token(h, ADDRESS), await mailbox_client(h, ADDRESS))
    box.append(corpus.plain(), box.folder.get(), dt=None, flag_set=())
    poller = _poller(h, url)
    try:
        with pytest.raises(MailboxPaused):
            await poller.poll_once()
        with pytest.raises(MailboxPaused):  # paused: it does not even try the server or the provider again
            await poller.poll_once()
        assert unseen(box) == 1  # the mail waits on the server
        await h.settle()
        paused = await h.events(type="mailbox.paused")
        assert len(paused) == 1
        assert paused[0]["data"]["address"] == ADDRESS and "invalid_grant" in paused[0]["data"]["reason"]
        assert (await _row(h)).refresh_token is None  # a dead grant is not kept
        mine = await h.client.get("/api/notifications", headers=admin.headers)
        titles = [n["title"] for n in mine.json()["items"]]
        assert f"Mailbox {ADDRESS} is paused" in titles
        read = await h.client.get(f"/api/mail/oauth/mailboxes/{connected['id']}", headers=admin.headers)
        assert read.json()["status"] == "paused"

        back = await consent(h, admin, int(connected["id"]), ADDRESS)
        assert back.status_code == 200 and back.json()["status"] == "connected", back.text
        assert await poller.poll_once() == 1
    finally:
        poller._close()
    assert unseen(box) == 0
    await h.settle()
    assert len(await h.events(type="ticket.created")) == 1


async def test_the_worker_waits_for_a_mailbox_to_be_connected_and_then_takes_what_waited(
    settings: Settings, oauth_folder: tuple[str, BaseMailBox]
) -> None:
    url, box = oauth_folder
    polling = settings.model_copy(update={"imap_url": url, "imap_poll_seconds": 1.0})
    box.append(corpus.plain(), box.folder.get(), dt=None, flag_set=())
    async for h in start(polling):
        admin = await h.user("admin")
        mailbox = await add_mailbox(h, admin, ADDRESS)
        # Not connected yet: the worker cannot sign in, and the mail waits on the server.
        assert unseen(box) == 1 and await h.events(type="ticket.created") == []
        back = await consent(h, admin, int(mailbox["id"]), ADDRESS)
        assert back.status_code == 200, back.text
        for _ in range(300):
            if await h.events(type="ticket.created"):
                break
            await asyncio.sleep(0.1)
        assert len(await h.events(type="ticket.created")) == 1


async def test_a_mailbox_for_another_account_cannot_sign_in_as_this_one(
    harness: Harness, admin: User, oauth_folder: tuple[str, BaseMailBox]
) -> None:
    """Dovecot checks the token's user: a grant made for someone else is refused, and nothing is taken."""
    h = harness
    url, box = oauth_folder
    mailbox = await add_mailbox(h, admin, ADDRESS)
    back = await consent(h, admin, int(mailbox["id"]), "somebody-else")
    assert back.status_code == 200, back.text
    box.append(corpus.plain(), box.folder.get(), dt=None, flag_set=())
    with pytest.raises(OAuthRefused):
        await _poll(h, url)
    assert unseen(box) == 1


async def _row(h: Harness) -> Any:
    return await h.nixflow.db.read(lambda conn: mail_oauth.by_address(conn, ADDRESS))
