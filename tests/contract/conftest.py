"""Contract tests: one class per port states what every adapter must do; a subclass per adapter runs it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from nixflow.domain.envelope import EventContext
from nixflow.ids import uuid7
from nixflow.store.db import Database, Tx, make_engine
from nixflow.store.migrate import upgrade
from nixflow.store.writer import Writer, make_writer


@pytest.fixture
def sqlite_database(tmp_path: Path) -> str:
    """A migrated SQLite file of this test's own."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'contract.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def open_writer(url: str) -> Iterator[Writer]:
    """The writer NixFlow would use on that database, closed afterwards."""
    db = Database(url)
    writer = make_writer(db, lambda: datetime.now(UTC))
    yield writer
    writer.close()
    db.dispose()


def unit_of_work(writer: Writer, fn: Any, *, cause: str | None = None) -> Any:
    """Run `fn(tx)` as one committed unit of work, as the handler of event `cause` would."""
    ctx = EventContext(correlation_id=uuid7(), actor_id=None, source="test", causation_id=cause)
    return writer.run_sync(fn, ctx)


class RolledBack(Exception):
    """Raised by a unit of work to undo it, as a crash mid-handler would."""


def rolled_back(writer: Writer, fn: Any, *, cause: str | None = None) -> Any:
    """Run `fn(tx)` in a unit of work that then fails; returns what `fn` returned before the rollback."""
    seen: list[Any] = []

    def work(tx: Tx) -> None:
        seen.append(fn(tx))
        raise RolledBack

    with pytest.raises(RolledBack):
        unit_of_work(writer, work, cause=cause)
    return seen[0]
