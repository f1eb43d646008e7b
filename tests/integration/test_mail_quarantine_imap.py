"""Hostile mail in a real IMAP mailbox (Dovecot): the poller stores it within the bounds or holds it in quarantine,
flags it seen, and goes on to the ordinary mail behind it. In both modes. What cannot be stored is a mail a database
trigger refuses (tests/quarantine_helpers.py)."""

from __future__ import annotations

import dataclasses

from imap_tools import BaseMailBox
from sqlalchemy import Connection, select
from tests import mail_corpus as corpus
from tests.conftest import Harness
from tests.integration.test_mailbox import folder
from tests.mail_helpers import unseen
from tests.quarantine_helpers import REFUSAL, poison, refusing_poison

from nixflow.email_in import intake
from nixflow.email_in.intake import TEXT_LIMIT
from nixflow.email_in.mailbox import MailboxPoller
from nixflow.store.tables import mail_quarantine, tickets

__all__ = ["folder"]  # the fixture, shared with test_mailbox


async def test_one_pass_takes_every_hostile_message_and_the_ordinary_one_behind_them(
    harness: Harness, folder: tuple[str, BaseMailBox]
) -> None:
    h = harness
    url, box = folder
    hostile = (corpus.deeply_nested(3000), corpus.long_text_and_oversized_file(1000), corpus.eight_bit_subject())
    for raw in (*hostile, poison(), corpus.plain()):
        box.append(raw, box.folder.get(), dt=None, flag_set=())
    config = dataclasses.replace(intake.config_from(h.nixflow.settings), max_attachment_bytes=1000)
    poller = MailboxPoller(url=url, writer=h.nixflow.writer, config=config, poll_seconds=1)
    try:
        with refusing_poison(h.nixflow.settings.database_url):
            assert await poller.poll_once() == 5  # was: the first one raised, every pass, for good
        assert unseen(box) == 0
        assert await poller.poll_once() == 0
    finally:
        poller._close()

    def read(conn: Connection) -> tuple[dict[str, str], list[dict[str, object]]]:
        made = {r.title: r.description for r in conn.execute(select(tickets.c.title, tickets.c.description))}
        held = [dict(r._mapping) for r in conn.execute(select(mail_quarantine))]
        return made, held

    made, held = await h.nixflow.db.read(read)
    assert set(made) == {
        "Nested all the way down",
        "Full crash report",
        "Café printer is kaputt",  # a raw UTF-8 Subject (RFC 6532): once held, a ticket now
        "Printer on floor 2 is jammed",
    }
    assert "nests deeper than 20 levels" in made["Nested all the way down"]
    assert len(made["Full crash report"]) <= TEXT_LIMIT
    [item] = held
    assert item["source"] == "imap" and item["state"] == "held" and item["raw"] == poison()
    await h.settle()
    [event] = await h.events(type="email.quarantined")
    assert event["data"]["quarantine_id"] == item["id"] and event["data"]["source"] == "imap"
    assert event["data"]["error"].startswith("IntegrityError: ") and REFUSAL in event["data"]["error"]
