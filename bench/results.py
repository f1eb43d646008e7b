"""The figures of one run, their peers and ratios, and the issue's targets as a checklist."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (`pct` in 0..100) of `samples`; NaN when there are none."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def fmt(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


# Peer figures every NixFlow figure may be compared with.
DJANGO_C32 = "django.c32.rps"
DJANGO_C1 = "django.c1.rps"
DJANGO_C32_P50 = "django.c32.p50"
DJANGO_C32_P99 = "django.c32.p99"
DJANGO_C1_P50 = "django.c1.p50"
DJANGO_C1_P99 = "django.c1.p99"
NAIVE_C32 = "naive.c32.rps"
NAIVE_C32_P50 = "naive.c32.p50"
NAIVE_C32_P99 = "naive.c32.p99"
CEILING = "ceiling.sqlite"
MIXED_READS_P99 = "nf.mixed.reads.p99"


@dataclass
class Figure:
    key: str
    label: str
    unit: str
    value: float | None = None
    note: str = ""
    peer: str | None = None  # the django-helpdesk figure it is shown beside
    ceiling: bool = False  # also shown as a share of the raw-sqlite3 ceiling
    group: str = ""
    naive: str | None = None  # the naive FastAPI app's figure it is shown beside


@dataclass
class Results:
    figures: dict[str, Figure] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # scenario -> why
    peaks: list[tuple[str, str, float]] = field(default_factory=list)  # scenario, process, MiB
    cpu: list[tuple[str, str, float, float]] = field(default_factory=list)  # setup, process, s, ms/event
    notes: list[str] = field(default_factory=list)
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # for charts
    profiles: list[tuple[str, Any]] = field(default_factory=list)  # title, bench.profile.Summary
    sections: list[tuple[str, list[str]]] = field(default_factory=list)  # title, markdown lines (a scenario's own)

    def add(
        self,
        key: str,
        label: str,
        unit: str,
        value: float | None,
        *,
        note: str = "",
        peer: str | None = None,
        ceiling: bool = False,
        group: str = "",
        naive: str | None = None,
    ) -> None:
        self.figures[key] = Figure(key, label, unit, value, note, peer, ceiling, group, naive)

    def value(self, key: str) -> float | None:
        found = self.figures.get(key)
        return None if found is None else found.value

    def ratio(self, key: str, other: str) -> float | None:
        mine, theirs = self.value(key), self.value(other)
        if mine is None or theirs is None or theirs == 0 or math.isnan(mine) or math.isnan(theirs):
            return None
        return mine / theirs


@dataclass(frozen=True)
class Target:
    text: str
    key: str
    op: Literal[">=", "<="]
    threshold: float
    times: str | None = None  # threshold is a multiple of this figure


TARGETS = (
    Target("fully automated tickets/s ≥ 10 x django-helpdesk create req/s (c=32)", "nf.automated", ">=", 10,
           DJANGO_C32),
    Target("POST /api/tickets p99 at 32 connections while automating ≤ the naive FastAPI app's p99 (c=32)",
           "nf.post32.p99", "<=", 1, NAIVE_C32_P99),
    Target("ingest (POST c=32 req/s) ≥ 30 % of the same server's /api/health req/s", "nf.ingest_share", ">=", 0.30),
    Target("POST → ticket.assigned committed p99 ≤ 25 ms at 100 tickets/s offered", "nf.open.p99", "<=", 25),
    Target("one SLA/escalation tick, 1,000 due among 1,000,000 open ≤ 150 ms", "nf.tick.1000000.1000", "<=", 150),
    Target("5,000 WebSocket clients all see an event within 250 ms (p99)", "nf.ws.5000.p99", "<=", 250),
    Target("scale-out 2 APIs + 2 workers: automated tickets/s ≥ 5 x django-helpdesk", "so.2x2.automated", ">=", 5,
           DJANGO_C32),
    Target("a helpdesk's day (mixed, 500 WebSocket clients): agents' reads p99 ≤ 100 ms while writes go on",
           MIXED_READS_P99, "<=", 100),
)  # fmt: skip


def check(results: Results, target: Target) -> tuple[str, str]:
    """('met' | 'missed' | 'not measured', the figure against its bound)."""
    value = results.value(target.key)
    bound = target.threshold
    if target.times is not None:
        base = results.value(target.times)
        bound = math.nan if base is None else target.threshold * base
    if value is None or math.isnan(value) or math.isnan(bound):
        return "not measured", "-"
    met = value >= bound if target.op == ">=" else value <= bound
    unit = results.figures[target.key].unit
    return ("met" if met else "missed"), f"{fmt(value)} {unit} (bound {target.op} {fmt(bound)})"


def _beside(results: Results, figure: Figure, other: str | None) -> tuple[str, str]:
    """The cells of a peer figure and of `figure` ÷ it."""
    peer = results.figures.get(other) if other else None
    peer_cell = f"{fmt(peer.value)} {peer.unit}" if peer and peer.value is not None else "-"
    ratio = results.ratio(figure.key, other) if other else None
    return peer_cell, f"{ratio:.2f}x" if ratio is not None else "-"


def markdown_table(results: Results) -> str:
    """Every figure beside django-helpdesk, the naive FastAPI app and the raw-sqlite3 ceiling."""
    ceiling = results.value(CEILING)
    rows = [
        "| what | NixFlow | unit | django-helpdesk | NixFlow ÷ django-helpdesk | naive FastAPI | NixFlow ÷ naive "
        "| ÷ raw sqlite3 ceiling | note |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for f in results.figures.values():
        if f.group == "peer":
            continue
        django, django_ratio = _beside(results, f, f.peer)
        naive, naive_ratio = _beside(results, f, f.naive)
        share = f.value / ceiling if f.ceiling and f.value is not None and ceiling else None
        share_cell = f"{share:.1%}" if share is not None else "-"
        note = f.note.replace("|", "\\|")
        rows.append(
            f"| {f.label} | {fmt(f.value)} | {f.unit} | {django} | {django_ratio} | {naive} | {naive_ratio} "
            f"| {share_cell} | {note} |"
        )
    return "\n".join(rows)


def peer_table(results: Results) -> str:
    rows = ["| peer | figure | unit | note |", "|---|---:|---|---|"]
    for f in results.figures.values():
        if f.group == "peer":
            rows.append(f"| {f.label} | {fmt(f.value)} | {f.unit} | {f.note} |")
    return "\n".join(rows)


def targets_table(results: Results) -> str:
    rows = ["| target | result | figure |", "|---|---|---|"]
    for target in TARGETS:
        verdict, figure = check(results, target)
        mark = {"met": "✅ met", "missed": "❌ missed"}.get(verdict, "- not measured")
        rows.append(f"| {target.text} | {mark} | {figure} |")
    return "\n".join(rows)
