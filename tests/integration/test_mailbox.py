"""The worker polls a real IMAP mailbox (Dovecot, started by scripts/services.sh), in both modes."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from imap_tools import BaseMailBox
from tests import mail_corpus as corpus
from tests.conftest import Harness, not_running, start
from tests.mail_helpers import imap_folder, unseen

from nixflow.config import Settings
from nixflow.email_in import intake
from nixflow.email_in.mailbox import MailboxPoller
from nixflow.ids import utcnow
from nixflow.store.db import Database
from nixflow.store.writer import make_writer


@pytest.fixture
def folder() -> Iterator[tuple[str, BaseMailBox]]:
    """A folder of this test's own in the test user's mailbox, and a client to fill and inspect it."""
    imap_url = os.environ.get("NIXFLOW_TEST_IMAP_URL")
    if imap_url is None:
        not_running("Dovecot")
    with imap_folder(imap_url) as made:
        yield made


async def test_a_pass_takes_every_unseen_message_and_flags_it_after_the_commit(
    harness: Harness, folder: tuple[str, BaseMailBox]
) -> None:
    h = harness
    url, box = folder
    for raw in (corpus.plain(), corpus.with_attachment(), b"\x00 not a mail at all\r\n"):
        box.append(raw, box.folder.get(), dt=None, flag_set=())
    config = intake.config_from(h.nixflow.settings)
    poller = MailboxPoller(url=url, writer=h.nixflow.writer, config=config, poll_seconds=1)
    try:
        assert await poller.poll_once() == 2
        assert unseen(box) == 0  # the unreadable one too: it can never be stored
        assert await poller.poll_once() == 0
    finally:
        poller._close()
    await h.settle()
    assert len(await h.events(type="ticket.created")) == 2
    assert len(await h.events(type="ticket.attachment_added")) == 1


async def test_a_message_stays_unseen_while_the_database_is_down(
    harness: Harness, folder: tuple[str, BaseMailBox], tmp_path: Path
) -> None:
    h = harness
    url, box = folder
    box.append(corpus.plain(), box.folder.get(), dt=None, flag_set=())
    config = intake.config_from(h.nixflow.settings)
    if h.nixflow.settings.is_sqlite:
        down = f"sqlite+aiosqlite:///{tmp_path / 'missing-folder' / 'x.db'}"
    else:
        down = "postgresql+psycopg://postgres@127.0.0.1:9/nixflow?connect_timeout=2"
    broken = make_writer(Database(down), utcnow)
    poller = MailboxPoller(url=url, writer=broken, config=config, poll_seconds=1)
    try:
        with pytest.raises(Exception):  # noqa: B017 - whichever way the driver says it, nothing was stored
            await poller.poll_once()
    finally:
        broken.close()
        poller._close()
    assert unseen(box) == 1  # not flagged: it is taken again once the database is back
    working = MailboxPoller(url=url, writer=h.nixflow.writer, config=config, poll_seconds=1)
    try:
        assert await working.poll_once() == 1
    finally:
        working._close()
    assert unseen(box) == 0
    await h.settle()
    assert len(await h.events(type="ticket.created")) == 1


async def test_the_worker_takes_new_mail_as_it_arrives(settings: Settings, folder: tuple[str, BaseMailBox]) -> None:
    url, box = folder
    polling = settings.model_copy(update={"imap_url": url, "imap_poll_seconds": 30.0, "mail_from": "help@example.com"})
    async for h in start(polling):
        assert h.nixflow.mailbox is not None
        # A message there before the first pass: once its ticket exists, the worker is past that pass and waiting.
        box.append(corpus.plain(subject="Before the worker", message_id="<first@customer.test>"), box.folder.get())
        await _tickets(h, 1)
        box.append(corpus.plain(), box.folder.get(), dt=None, flag_set=())
        # Well inside the 30 s between polls: IDLE told the worker.
        _first, created = await _tickets(h, 2, within=20)
        assert created["data"]["title"] == "Printer on floor 2 is jammed"
        for _ in range(50):
            if unseen(box) == 0:
                break
            await asyncio.sleep(0.1)
        assert unseen(box) == 0


async def _tickets(h: Harness, count: int, within: float = 30) -> list[dict[str, Any]]:
    """The `ticket.created` events, oldest first, once there are `count`."""
    for _ in range(int(within * 10)):
        found = await h.events(type="ticket.created")
        if len(found) >= count:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"{count} tickets not made from mail within {within} s")
