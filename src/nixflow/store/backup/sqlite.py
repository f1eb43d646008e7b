"""SQLite through its online backup API: page by page, inside one read transaction of the source, so the copy
is one snapshot (WAL: writers go on meanwhile, and a step never restarts because they wrote)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from nixflow.store.backup.common import BackupError, Progress

PAGES_PER_STEP = 256


def _copy(source: sqlite3.Connection, target: sqlite3.Connection, progress: Progress) -> None:
    def step(_status: int, remaining: int, total: int) -> None:
        progress(total - remaining, total)

    source.backup(target, pages=PAGES_PER_STEP, progress=step)


def copy_out(database: Path, destination: Path, progress: Progress) -> None:
    """Copy the serving database at `database` to a new file `destination`, as it was when the copy began."""
    if not database.is_file():
        raise BackupError(f"no SQLite database at {database}")
    with closing(sqlite3.connect(database, isolation_level=None, timeout=30)) as source:
        source.execute("BEGIN")
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot starts at the first read
        with closing(sqlite3.connect(destination)) as target:
            _copy(source, target, progress)
        source.execute("COMMIT")


def copy_in(dump: Path, database: Path, progress: Progress) -> None:
    """Write the copy `dump` into the (empty) database file `database`, then keep it in WAL mode."""
    with closing(sqlite3.connect(dump)) as source, closing(sqlite3.connect(database)) as target:
        _copy(source, target, progress)
        target.execute("PRAGMA journal_mode=WAL")
