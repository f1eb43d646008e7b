"""Hostile mail through the pipe (`nixflow mail receive`, a real subprocess): each is stored within the bounds or
held in quarantine, the MTA is told 0, and the next ordinary mail still becomes a ticket. In both modes. What
cannot be stored is a mail a database trigger refuses (tests/quarantine_helpers.py): a failure that is no bug."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from tests import mail_corpus as corpus
from tests.cli_helpers import mail_receive, run_cli
from tests.integration.test_mail_cli import unreachable
from tests.quarantine_helpers import REFUSAL, fix, poison, refuse_poison, refusing_poison

from nixflow.email_in.intake import TEXT_LIMIT
from nixflow.email_in.mime import MAX_DEPTH
from nixflow.store.db import sync_url
from nixflow.store.tables import mail_quarantine, tickets

SMALL_FILES = {"NIXFLOW_MAX_ATTACHMENT_BYTES": "1000"}


def rows(database_url: str, query: Any) -> list[dict[str, Any]]:
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]
    finally:
        engine.dispose()


def the_ordinary_mail_still_becomes_a_ticket(tmp_path: Path, database_url: str, message_id: str) -> None:
    ordinary = mail_receive(tmp_path, database_url, corpus.plain(message_id=message_id))
    assert ordinary.returncode == 0, ordinary.stderr
    titles = [t["title"] for t in rows(database_url, select(tickets.c.title))]
    assert "Printer on floor 2 is jammed" in titles


def test_a_message_nested_3000_levels_deep_becomes_a_ticket_that_says_what_was_not_read(
    tmp_path: Path, database_url: str
) -> None:
    deep = mail_receive(tmp_path, database_url, corpus.deeply_nested(3000))
    assert deep.returncode == 0, deep.stderr  # was 1: a RecursionError
    assert b"ticket" in deep.stdout
    [ticket] = rows(database_url, select(tickets.c.title, tickets.c.description))
    assert ticket["title"] == "Nested all the way down"
    assert f"the message nests deeper than {MAX_DEPTH} levels" in ticket["description"]
    the_ordinary_mail_still_becomes_a_ticket(tmp_path, database_url, "<after-deep@customer.test>")


def test_a_long_text_and_a_file_with_a_1500_character_name_fit_the_description(
    tmp_path: Path, database_url: str
) -> None:
    long = mail_receive(tmp_path, database_url, corpus.long_text_and_oversized_file(1000), SMALL_FILES)
    assert long.returncode == 0, long.stderr  # was 75: ValidationFailed, retried by the MTA for days
    [ticket] = rows(database_url, select(tickets.c.description))
    description = ticket["description"]
    assert len(description) <= TEXT_LIMIT
    assert "[The text was cut here" in description
    assert "….bin" not in description and "was not kept: over the size limit]" in description
    the_ordinary_mail_still_becomes_a_ticket(tmp_path, database_url, "<after-long@customer.test>")


def test_a_message_the_intake_cannot_store_is_quarantined_and_the_pipe_answers_0(
    tmp_path: Path, database_url: str
) -> None:
    with refusing_poison(database_url):  # a trigger in the database refuses the ticket: "a bug in this version"
        for _ in range(2):  # the same bytes twice: held once, counted twice
            held = mail_receive(tmp_path, database_url, poison())
            assert held.returncode == 0, held.stderr  # was 75
            assert b"quarantined as" in held.stdout and REFUSAL.encode() in held.stdout
        [item] = rows(database_url, select(mail_quarantine))
        assert item["state"] == "held" and item["source"] == "pipe" and item["attempts"] == 2
        assert item["raw"] == poison()
        assert item["message_id"] == "<poison-1@customer.test>" and item["sender"] == "pat@customer.test"
        assert item["subject"] == "poison"
        assert item["error_type"] == "IntegrityError" and "Traceback" not in item["error"]
        assert rows(database_url, select(tickets.c.id)) == []  # the intake's unit of work rolled back whole
        the_ordinary_mail_still_becomes_a_ticket(tmp_path, database_url, "<after-poison@customer.test>")


def test_with_the_database_down_it_is_75_and_bytes_that_are_no_message_are_65(
    tmp_path: Path, database_url: str
) -> None:
    down = unreachable(database_url, tmp_path)
    outage = mail_receive(tmp_path, down, corpus.plain())
    assert outage.returncode == 75, outage.stderr  # nothing could be held either: the MTA keeps it, retries
    assert mail_receive(tmp_path, down, b"\x00\x01 not mail").returncode == 65  # known before the database


def test_an_admin_lists_retries_and_discards_held_mail_from_the_shell(tmp_path: Path, database_url: str) -> None:
    env = {"NIXFLOW_DATABASE_URL": database_url}
    refuse_poison(database_url)
    for message_id in ("<poison-1@customer.test>", "<poison-2@customer.test>"):
        assert mail_receive(tmp_path, database_url, poison(message_id)).returncode == 0
    listed = run_cli(tmp_path, "mail", "quarantine", "list", "--state", "held", env=env)
    assert listed.returncode == 0 and "pat@customer.test" in listed.stdout and "IntegrityError" in listed.stdout
    first, second = (str(r["id"]) for r in rows(database_url, select(mail_quarantine.c.id).order_by("id")))
    assert '"subject": "poison"' in run_cli(tmp_path, "mail", "quarantine", "show", first, env=env).stdout
    again = run_cli(tmp_path, "mail", "quarantine", "retry", first, env=env)
    assert again.returncode == 1 and "failed again, still held: IntegrityError" in again.stderr

    fix(database_url)
    stored = run_cli(tmp_path, "mail", "quarantine", "retry", first, env=env)
    assert stored.returncode == 0 and f"quarantined mail {first} retried: ticket" in stored.stdout, stored.stderr
    assert [t["title"] for t in rows(database_url, select(tickets.c.title))] == ["poison"]
    assert run_cli(tmp_path, "mail", "quarantine", "discard", second, env=env).returncode == 0
    twice = run_cli(tmp_path, "mail", "quarantine", "discard", second, env=env)
    assert twice.returncode == 1 and "is discarded" in twice.stderr
    assert rows(database_url, select(mail_quarantine.c.state, mail_quarantine.c.raw).order_by("id")) == [
        {"state": "retried", "raw": poison("<poison-1@customer.test>")},
        {"state": "discarded", "raw": None},
    ]
