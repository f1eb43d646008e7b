"""The mixed workload ("a helpdesk's day") through wrk and bench/lua/mixed.lua: its operations, one wrk run, and
the per-operation latencies read back from the samples file the script writes."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bench.results import percentile
from bench.tools import BENCH_DIR
from bench.wrk import WrkResult, finish_wrk, wrk_command

LUA = BENCH_DIR / "lua" / "mixed.lua"
Kind = Literal["read", "write", "create"]


@dataclass(frozen=True)
class Op:
    """One operation of the mix; `path` and `body` may hold the placeholders mixed.lua fills."""

    name: str
    kind: Kind
    weight: int  # requests of this operation in every 100 (the weights of a mix sum to 100)
    method: str
    path: str
    body: str = ""


@dataclass
class OpSamples:
    latencies_ms: list[float] = field(default_factory=list)  # successful (2xx/3xx) responses only
    errors: int = 0  # 4xx/5xx responses
    statuses: dict[int, int] = field(default_factory=dict)  # the error statuses seen, with their counts

    @property
    def p50(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies_ms, 99)


@dataclass
class MixedRun:
    wrk: WrkResult
    ops: dict[str, OpSamples]

    def kind_samples(self, mix: Sequence[Op], kind: Kind) -> list[float]:
        """Every successful latency of the operations of one kind, together."""
        return [ms for op in mix if op.kind == kind for ms in self.ops.get(op.name, OpSamples()).latencies_ms]


def ops_spec(mix: Sequence[Op]) -> str:
    """WRK_OPS: one operation a line, tab-separated."""
    for op in mix:
        if any(c in text for text in (op.name, op.path, op.body) for c in "\t\n") or " " in op.name:
            raise ValueError(f"operation {op.name!r}: no tab or newline anywhere, no space in the name")
    if sum(op.weight for op in mix) != 100 or any(op.weight < 1 for op in mix):
        raise ValueError("the weights of a mix are whole numbers of at least 1 that sum to 100")
    return "\n".join(f"{op.name}\t{op.weight}\t{op.method}\t{op.path}\t{op.body}" for op in mix)


def parse_samples(text: str) -> dict[str, OpSamples]:
    """The lines `<op> <latency µs> <HTTP status>` mixed.lua writes, by operation."""
    ops: dict[str, OpSamples] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            name, micros, status = line.split()
            latency, code = int(micros) / 1000, int(status)
        except ValueError:
            raise ValueError(f"samples line {number} is not `<op> <µs> <status>`: {line[:80]!r}") from None
        samples = ops.setdefault(name, OpSamples())
        if code < 400:
            samples.latencies_ms.append(latency)
        else:
            samples.errors += 1
            samples.statuses[code] = samples.statuses.get(code, 0) + 1
    return ops


@dataclass(frozen=True)
class Setup:
    """What the placeholders stand for in one run."""

    auth: str
    ticket_max: int  # {ticket}: 1..ticket_max
    owned: Sequence[int]  # {own}: each open at the start, at least one per connection
    statuses: tuple[str, str] = ("open", "pending")  # {status}: an own ticket's first and second status


def run_mixed(base: str, mix: Sequence[Op], setup: Setup, *, connections: int, seconds: float, log: Path) -> MixedRun:
    """One wrk run of `mix` at `connections` (one wrk thread each); its output in `log`, samples beside it."""
    if any("{own}" in op.path + op.body for op in mix) and len(setup.owned) < connections:
        raise ValueError(f"{len(setup.owned)} own tickets for {connections} connections: give each one at least one")
    samples = log.with_suffix(".samples")
    env = {
        **os.environ,
        "WRK_OPS": ops_spec(mix),
        "WRK_AUTH": setup.auth,
        "WRK_TICKET_MAX": str(setup.ticket_max),
        "WRK_OWNED": ",".join(map(str, setup.owned)),
        "WRK_STATUSES": ",".join(setup.statuses),
        "WRK_THREADS": str(connections),
        "WRK_SAMPLES": str(samples),
    }
    command = wrk_command(base, connections=connections, seconds=seconds, threads=connections, script=LUA)
    proc = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, text=True)
    result = finish_wrk(proc, log, seconds=seconds)
    return MixedRun(result, parse_samples(samples.read_text()))
