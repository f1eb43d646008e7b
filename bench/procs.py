"""Processes the runner starts, and what /proc says about them: CPU seconds, RSS, peak RSS (VmHWM)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, *, with_reaped_children: bool = False) -> float:
    """utime + stime of `pid` (plus its waited-for children's, e.g. PostgreSQL's exited backends)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3): utime, stime, cutime, cstime are fields 14-17.
    ticks = int(fields[11]) + int(fields[12])
    if with_reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


def status_kib(pid: int, key: str) -> int:
    """A `kB` line of /proc/<pid>/status (VmRSS, VmHWM), 0 if the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def children(pid: int) -> list[int]:
    """Direct children of `pid`, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def tree_cpu_seconds(pid: int) -> float:
    """A server and its live children, plus the children it already reaped (PostgreSQL: postmaster + backends)."""
    total = cpu_seconds(pid, with_reaped_children=True)
    for child in children(pid):
        with contextlib.suppress(OSError):
            total += cpu_seconds(child)
    return total


@dataclass
class Proc:
    """A process the runner started (or a server it started indirectly, found by pid)."""

    name: str
    pid: int
    popen: subprocess.Popen[bytes] | None = None
    tree: bool = False  # count CPU of children too (PostgreSQL)
    peak_rss_kib: int = 0
    cpu_marks: dict[str, float] = field(default_factory=dict)

    def cpu(self) -> float:
        return tree_cpu_seconds(self.pid) if self.tree else cpu_seconds(self.pid)

    def mark(self, label: str) -> None:
        """Remember the CPU seconds used so far under `label`."""
        self.cpu_marks[label] = self.cpu()

    def rss_kib(self) -> int:
        return status_kib(self.pid, "VmRSS")

    def sample_peak(self) -> int:
        """Peak RSS so far (VmHWM; for a tree, the sum of each member's peak)."""
        peak = status_kib(self.pid, "VmHWM")
        if self.tree:
            peak += sum(status_kib(c, "VmHWM") for c in children(self.pid))
        self.peak_rss_kib = max(self.peak_rss_kib, peak)
        return self.peak_rss_kib

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        return Path(f"/proc/{self.pid}").exists()

    def stop(self, timeout: float = 20) -> None:
        """Record peak RSS, then SIGTERM and wait (SIGKILL after `timeout`). Only processes we spawned."""
        if self.popen is None or self.popen.poll() is not None:
            return
        self.sample_peak()
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)


def spawn(name: str, argv: Sequence[str], *, env: dict[str, str], log_path: Path, cwd: Path | None = None) -> Proc:
    """Start `argv` with its output to `log_path`."""
    with open(log_path, "ab") as out:
        popen = subprocess.Popen(list(argv), env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
    return Proc(name=name, pid=popen.pid, popen=popen)


def last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except FileNotFoundError:
        return ""
    return lines[-1] if lines else ""
