"""`nixflow mail receive` as an MTA runs it (a subprocess, the message on standard input), in both modes."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy import create_engine, func, select
from tests import mail_corpus as corpus
from tests.cli_helpers import mail_receive

from nixflow.store.db import sync_url
from nixflow.store.tables import inbound_mail, tickets

EX_OK, EX_DATAERR, EX_TEMPFAIL = 0, 65, 75


def receive(tmp_path: Path, database_url: str, raw: bytes) -> subprocess.CompletedProcess[bytes]:
    return mail_receive(tmp_path, database_url, raw)


def count(database_url: str, table: object) -> int:
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)  # type: ignore[arg-type]
    finally:
        engine.dispose()


def unreachable(database_url: str, tmp_path: Path) -> str:
    """The same kind of database, down: a SQLite file in a folder that does not exist, a closed port."""
    if database_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / 'missing-folder' / 'nixflow.db'}"
    return "postgresql+psycopg://postgres@127.0.0.1:9/nixflow?connect_timeout=2"


def test_a_piped_message_opens_a_ticket_and_the_same_one_again_is_kept_once(tmp_path: Path, database_url: str) -> None:
    first = receive(tmp_path, database_url, corpus.plain())
    assert first.returncode == EX_OK, first.stderr
    assert b": opened ticket 1" in first.stdout and b"ticket ticket" not in first.stdout, first.stdout
    again = receive(tmp_path, database_url, corpus.plain())
    assert again.returncode == EX_OK, again.stderr
    assert b"duplicate" in again.stdout
    assert count(database_url, tickets) == 1 and count(database_url, inbound_mail) == 1


def test_the_database_down_is_75_and_the_message_is_stored_once_later(tmp_path: Path, database_url: str) -> None:
    down = receive(tmp_path, unreachable(database_url, tmp_path), corpus.plain())
    assert down.returncode == EX_TEMPFAIL, (down.stdout, down.stderr)
    assert b"try again later" in down.stderr
    for _ in range(2):  # the MTA retries; a second copy arrives as well
        later = receive(tmp_path, database_url, corpus.plain())
        assert later.returncode == EX_OK, later.stderr
    assert count(database_url, tickets) == 1


def test_a_message_that_can_never_be_read_is_65(tmp_path: Path, database_url: str) -> None:
    for raw in (b"", b"\x00\x01 not mail at all", b"Subject: nobody sent this\r\n\r\nhi\r\n"):
        refused = receive(tmp_path, database_url, raw)
        assert refused.returncode == EX_DATAERR, (raw, refused.stderr)
        assert b"unreadable" in refused.stderr
