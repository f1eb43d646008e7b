"""Headers that store: raw UTF-8 headers (RFC 6532) and values longer than their columns, through the pipe
(`nixflow mail receive`, a real subprocess), in both modes. Each was a quarantined mail before (SQLite and
PostgreSQL refuse lone surrogates; PostgreSQL refuses a value over its column's length)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from tests import mail_corpus as corpus
from tests.cli_helpers import mail_receive
from tests.integration.test_mail_quarantine import rows

from nixflow.store.tables import attachments, inbound_mail, mail_quarantine, tickets, users


def test_a_raw_utf8_subject_and_sender_name_become_the_tickets_title_and_the_requesters_name(
    tmp_path: Path, database_url: str
) -> None:
    piped = mail_receive(tmp_path, database_url, corpus.eight_bit_subject())
    assert piped.returncode == 0 and b": opened ticket" in piped.stdout, piped.stdout + piped.stderr
    [ticket] = rows(database_url, select(tickets.c.title, tickets.c.description))
    assert ticket["title"] == "Café printer is kaputt"
    assert ticket["description"] == "The café printer prints nothing."
    [stored] = rows(database_url, select(inbound_mail.c.subject))
    assert stored["subject"] == "Café printer is kaputt"
    names = [u["name"] for u in rows(database_url, select(users.c.name).where(users.c.email == "rene@customer.test"))]
    assert names == ["René Doe"]
    assert rows(database_url, select(mail_quarantine.c.id)) == []


def test_a_content_id_and_a_file_name_longer_than_their_columns_are_clipped(tmp_path: Path, database_url: str) -> None:
    piped = mail_receive(tmp_path, database_url, corpus.long_names(300))
    assert piped.returncode == 0 and b": opened ticket" in piped.stdout, piped.stdout + piped.stderr
    files = rows(database_url, select(attachments.c.id, attachments.c.filename, attachments.c.content_id))
    [image] = [f for f in files if f["content_id"]]
    [report] = [f for f in files if not f["content_id"]]
    assert image["content_id"] == "logo-" * 51 and len(image["content_id"]) == 255
    assert len(report["filename"]) == 255 and report["filename"].startswith("rapport-é-rapport-é-")
    [stored] = rows(database_url, select(inbound_mail.c.html))
    assert f'src="/api/attachments/{image["id"]}"' in stored["html"] and "cid:" not in stored["html"]
    assert rows(database_url, select(mail_quarantine.c.id)) == []


def test_a_sender_address_longer_than_any_address_is_dropped_saying_why(tmp_path: Path, database_url: str) -> None:
    sender = "x" * 250 + "@customer.test"
    piped = mail_receive(tmp_path, database_url, corpus.plain(sender=f"Long <{sender}>", message_id="<long-from@t>"))
    assert piped.returncode == 0 and b": dropped" in piped.stdout, piped.stdout + piped.stderr
    assert b"is not an address NixFlow accepts" in piped.stdout
    assert rows(database_url, select(users.c.id).where(users.c.email.like("xxx%"))) == []
    assert rows(database_url, select(tickets.c.id)) == [] and rows(database_url, select(mail_quarantine.c.id)) == []
