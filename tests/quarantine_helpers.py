"""An honest failure for the quarantine tests, one that is no NixFlow bug: a trigger in the database refuses every
ticket titled `POISON` (standing for "a bug in this version"), so the intake's unit of work fails for that mail and
it is held; dropping the trigger is "the fix", after which a retry stores it. The trigger lives in the database, so
it refuses the `nixflow mail receive` subprocess and a `nixflow serve` alike.

The refusal is an integrity error on both databases (SQLite's RAISE(ABORT) is one; PostgreSQL's is raised with
SQLSTATE check_violation), the path the intake takes for a duplicate race: it must still end in quarantine, and
never read as an outage."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from sqlalchemy import create_engine, text

from nixflow.email_in import intake, quarantine
from nixflow.store.db import sync_url
from nixflow.store.migrate import upgrade
from tests import mail_corpus as corpus
from tests.conftest import Harness

POISON = "poison"
REFUSAL = "refused by a test trigger"
_INSTALL = {
    "sqlite": [
        f"CREATE TRIGGER IF NOT EXISTS refuse_poison BEFORE INSERT ON tickets WHEN NEW.title = '{POISON}' "
        f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN RAISE EXCEPTION '{REFUSAL}' USING ERRCODE = 'check_violation'; END $$",
        "CREATE OR REPLACE TRIGGER refuse_poison BEFORE INSERT ON tickets FOR EACH ROW "
        f"WHEN (NEW.title = '{POISON}') EXECUTE FUNCTION refuse_poison()",
    ],
}
_DROP = {
    "sqlite": ["DROP TRIGGER IF EXISTS refuse_poison"],
    "postgresql": ["DROP TRIGGER IF EXISTS refuse_poison ON tickets", "DROP FUNCTION IF EXISTS refuse_poison()"],
}


def poison(message_id: str = "<poison-1@customer.test>") -> bytes:
    """An ordinary mail whose ticket the trigger refuses, with CRLF line ends (as a mailbox gives it back)."""
    return _made(message_id)


@cache  # the same bytes each time (its Date is when it is made): taken again, it is the same mail
def _made(message_id: str) -> bytes:
    return corpus.plain(subject=POISON, message_id=message_id).replace(b"\n", b"\r\n")


def _run(database_url: str, statements: dict[str, list[str]]) -> None:
    engine = create_engine(sync_url(database_url))
    try:
        upgrade(engine)  # a new SQLite file has no tables until NixFlow first opens it
        with engine.begin() as conn:
            for statement in statements[engine.dialect.name]:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def refuse_poison(database_url: str) -> None:
    """Install the trigger (again is a no-op): from now on the intake fails on `poison()` mail."""
    _run(database_url, _INSTALL)


def fix(database_url: str) -> None:
    """Drop the trigger: the "fix" after which a held poison mail is stored."""
    _run(database_url, _DROP)


@contextmanager
def refusing_poison(database_url: str) -> Iterator[None]:
    """The trigger installed for the block (dropped after it, if the test has not fixed it already)."""
    refuse_poison(database_url)
    try:
        yield
    finally:
        fix(database_url)


async def take(h: Harness, raw: bytes) -> quarantine.Held | intake.Outcome:
    """`raw` taken as the pipe takes it (parse, store or hold), by the harness's app."""
    config = intake.config_from(h.nixflow.settings)
    return await quarantine.take(h.nixflow.writer, raw, quarantine.read(raw, config), source="pipe", config=config)


async def held_mail(h: Harness, message_id: str = "<poison-1@customer.test>") -> int:
    """A poison mail held for real: the trigger installed (and left so: `fix` drops it), the mail taken, its
    quarantine id returned."""
    refuse_poison(h.nixflow.settings.database_url)
    held = await take(h, poison(message_id))
    assert isinstance(held, quarantine.Held), held
    return held.quarantine_id
