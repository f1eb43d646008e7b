"""Where a NixFlow process spends its time under load: py-spy attached to it, samples sorted by what they were doing.

The runner profiles in runs of their own, after the measured ones, so sampling never slows a figure it reports.
Idle samples (a thread waiting on a queue, a lock or epoll) are left out: the shares are of busy samples, so
they say what the CPU did, and they add up to 100 % across threads (all of which share one GIL).
"""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.tools import log

RATE = 200  # samples per second and thread: enough for shares to the percent in 10 s, light on 2 cores

# A stack is idle when its innermost frame waits (py-spy counts a waiting thread as a sample too).
_IDLE_LEAVES = ("Condition.wait", "Event.wait", "Queue.get", "_wait_for_tstate_lock", "EpollSelector.select",
                "select (selectors", "Thread.join", "sleep (")  # fmt: skip

# The first rule whose marker is on the stack names the sample (outermost rules first where they nest).
_HANDLERS = (
    ("RuleEngine.handle", "writer: automation rules (handler)"),
    ("project (", "writer: report projection (handler)"),
    ("NotificationConsumer.handle", "writer: notifications (handler)"),
)
_RULES = (
    ("TimedAutomation._batch", "writer: SLA/escalation tick (the job's own work)"),
    ("append_many", "writer: events to the log"),
    ("record_receipts", "writer: handler receipts to the log"),
    ("do_commit", "writer: COMMIT"),
    ("SerialWriter", "writer: the request's unit of work, BEGIN, savepoints"),
    ("PooledWriter", "writer: the request's unit of work, BEGIN, savepoints"),
    ("WorkerThread", "reads (thread pool)"),
    ("LogTailer", "log tailer (live views)"),
    ("Checkpointer", "WAL checkpoints"),
    ("FastAPI.__call__", "event loop: HTTP, routing, validation, auth"),
    ("httptools_impl", "event loop: HTTP, routing, validation, auth"),
    ("websockets_impl", "event loop: WebSocket sends"),
)


@dataclass
class Summary:
    busy: int = 0
    idle: int = 0
    shares: list[tuple[str, float]] = field(default_factory=list)  # category, % of busy samples
    sqlalchemy: float = 0.0  # % of busy samples inside SQLAlchemy's Connection.execute
    driver: float = 0.0  # % of busy samples inside the database driver's own execute
    top: list[tuple[str, float]] = field(default_factory=list)  # innermost functions, % of busy samples


def _frame(text: str) -> str:
    """`func (path/file.py:line)` → `func (file.py)`."""
    name, _, where = text.partition(" (")
    return f"{name} ({where.rsplit('/', 1)[-1].split(':')[0]})" if where else name


# A writer thread blocked on PostgreSQL's reply: not CPU, but where a unit of work's time goes in scale-out.
_WAITING_FOR_POSTGRES = ("Connection.wait (", "wait_c (", "wait_epoll (", "wait_select (")


def _category(stack: str) -> str:
    leaf = stack.rsplit(";", 1)[-1]
    if "psycopg" in leaf and leaf.startswith(_WAITING_FOR_POSTGRES):
        return "waiting for PostgreSQL's reply (a writer thread)"
    if "Dispatcher._run_handlers" in stack:
        return next((label for marker, label in _HANDLERS if marker in stack), "writer: other handlers")
    return next((label for marker, label in _RULES if marker in stack), "event loop: other (uvloop, I/O, tasks)")


def summarise(raw: Path) -> Summary:
    """Read py-spy's raw (collapsed) output."""
    counts: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    summary = Summary()
    in_sqlalchemy = in_driver = 0
    for line in raw.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        if not number.isdigit():
            continue
        n = int(number)
        leaf = stack.rsplit(";", 1)[-1]
        if any(marker in leaf for marker in _IDLE_LEAVES):
            summary.idle += n
            continue
        summary.busy += n
        counts[_category(stack)] += n
        leaves[_frame(leaf)] += n
        if "Connection.execute" in stack:
            in_sqlalchemy += n
        if "do_execute" in stack or "Fast._run" in stack or "Fast.many" in stack:
            in_driver += n
    if summary.busy:
        summary.shares = [(k, 100 * v / summary.busy) for k, v in counts.most_common()]
        summary.top = [(k, 100 * v / summary.busy) for k, v in leaves.most_common(12)]
        summary.sqlalchemy = 100 * in_sqlalchemy / summary.busy
        summary.driver = 100 * in_driver / summary.busy
    return summary


def available() -> str | None:
    """The py-spy command, if installed (the `bench` extra installs it)."""
    return shutil.which("py-spy") or (str(Path(sys.executable).parent / "py-spy")
                                      if (Path(sys.executable).parent / "py-spy").exists() else None)  # fmt: skip


@contextmanager
def profiled(pid: int, out: Path) -> Iterator[Path]:
    """py-spy on `pid` for the length of the block, without pausing it (`--nonblocking`); the raw output path."""
    command = available()
    if command is None:
        raise RuntimeError("py-spy is not installed (pip install -e '.[bench]')")
    spy = subprocess.Popen(
        [command, "record", "--nonblocking", "-r", str(RATE), "-f", "raw", "-o", str(out), "-p", str(pid)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield out
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its output when interrupted
        try:
            _, err = spy.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            spy.kill()
            _, err = spy.communicate()
        if not out.exists():
            log(f"py-spy wrote nothing: {err.decode(errors='replace')[-300:]}")


def markdown(title: str, summary: Summary) -> list[str]:
    """A report section for one profile."""
    total = summary.busy + summary.idle
    lines = [f"### {title}", "",
             f"{summary.busy:,} busy samples of {total:,} ({RATE}/s per thread). Inside SQLAlchemy's "
             f"`Connection.execute`: {summary.sqlalchemy:.0f} %; inside the database driver itself: "
             f"{summary.driver:.0f} %.", "", "| where | share of busy samples |", "|---|---:|"]  # fmt: skip
    lines += [f"| {name} | {share:.1f} % |" for name, share in summary.shares]
    lines += ["", "Innermost functions (self time):", "", "| function | share |", "|---|---:|"]
    lines += [f"| `{name}` | {share:.1f} % |" for name, share in summary.top]
    return [*lines, ""]
