"""When did each ticket's `ticket.assigned` event commit?

NixFlow's `events.timestamp` (and `updated_at`, equal to it on insert) is the unit of work's clock, read when
its transaction *began*: with group commit the row becomes visible later. No column holds a commit time.

- PostgreSQL: the runner's own server runs with `track_commit_timestamp = on`, and
  `pg_xact_commit_timestamp(xmin)` of the event row is the true commit time.
- SQLite: there is no commit time to read, so `SqliteCommitWatcher` observes it: a reader thread in the
  runner woken by inotify whenever the database's directory changes (every commit appends to the `-wal`
  file) queries the new `ticket.assigned` rows and stamps each with the wall-clock time it first saw it.
  That is an upper bound of the commit time: late by the wake-up and one indexed query (well under 1 ms
  on an idle core, a few ms when both cores are saturated).
"""

from __future__ import annotations

import ctypes
import os
import select
import sqlite3
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, text

IN_MODIFY = 0x2
IN_CREATE = 0x100
MIN_GAP_S = 0.0005  # at most ~2,000 queries/s, whatever the commit rate


class SqliteCommitWatcher:
    """Stamps each `ticket.assigned` event with the wall time it first became visible to a reader."""

    def __init__(self, db_path: Path, event_type: str = "ticket.assigned") -> None:
        self.db_path = db_path
        self.event_type = event_type
        self.seen: dict[int, float] = {}  # ticket id -> epoch seconds
        self._after = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="commit-watcher", daemon=True)
        self._lock = threading.Lock()
        self.mode = "inotify"

    def __enter__(self) -> SqliteCommitWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def snapshot(self) -> dict[int, float]:
        with self._lock:
            return dict(self.seen)

    def _inotify_fd(self) -> int | None:
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            fd = int(libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC))
            if fd < 0:
                return None
            if libc.inotify_add_watch(fd, str(self.db_path.parent).encode(), IN_MODIFY | IN_CREATE) < 0:
                os.close(fd)
                return None
            return fd
        except (OSError, AttributeError):
            return None

    def _run(self) -> None:
        fd = self._inotify_fd()
        if fd is None:
            self.mode = "polling every 1 ms"
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
        query = "SELECT seq, aggregate_id FROM events WHERE seq > ? AND event_type = ? ORDER BY seq"
        try:
            while not self._stop.is_set():
                if fd is not None:
                    ready, _, _ = select.select([fd], [], [], 0.05)
                    if ready:
                        while True:
                            try:
                                os.read(fd, 65536)
                            except BlockingIOError:
                                break
                else:
                    time.sleep(0.001)
                try:
                    rows = conn.execute(query, (self._after, self.event_type)).fetchall()
                except sqlite3.OperationalError:  # the schema is not there yet
                    time.sleep(0.05)
                    continue
                now = time.time()
                if rows:
                    with self._lock:
                        for _seq, aggregate_id in rows:
                            self.seen.setdefault(int(aggregate_id), now)
                    self._after = int(rows[-1][0])
                time.sleep(MIN_GAP_S)
        finally:
            conn.close()
            if fd is not None:
                os.close(fd)


def postgres_commit_times(sync_url: str, *, event_type: str = "ticket.assigned") -> dict[int, float]:
    """Ticket id -> commit time (epoch seconds) of its `event_type` event, from `track_commit_timestamp`."""
    engine = create_engine(sync_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT aggregate_id, extract(epoch FROM pg_xact_commit_timestamp(xmin))"
                    " FROM events WHERE event_type = :type"
                ),
                {"type": event_type},
            ).all()
    finally:
        engine.dispose()
    found: dict[int, float] = {}
    for aggregate_id, at in rows:
        if at is not None:
            found.setdefault(int(aggregate_id), float(at))
    return found
