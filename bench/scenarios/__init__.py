"""One module per scenario group; each `run(ctx)` adds its figures to `ctx.results`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.procs import Proc
from bench.results import Results


@dataclass
class Ctx:
    quick: bool
    seconds: float  # each measurement
    warmup: float
    workdir: Path
    results: Results

    def peak(self, scenario: str, proc: Proc) -> None:
        """Record the peak RSS (VmHWM) of `proc`; call just before stopping it."""
        kib = proc.sample_peak()
        if kib:
            self.results.peaks.append((scenario, proc.name, kib / 1024))
