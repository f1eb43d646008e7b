"""Charts of the event log, drawn on the server as SVG by pygal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pygal  # type: ignore[import-untyped]
from babel.dates import format_skeleton
from babel.numbers import format_decimal
from pygal.style import Style  # type: ignore[import-untyped]
from sqlalchemy import Connection, select

from nixflow.i18n import N_
from nixflow.store.tables import events

# span name → (how far back, bucket width)
SPANS: dict[str, tuple[timedelta, timedelta]] = {
    "1h": (timedelta(hours=1), timedelta(minutes=5)),
    "24h": (timedelta(hours=24), timedelta(hours=1)),
    "7d": (timedelta(days=7), timedelta(days=1)),
}
SPAN_LABELS = {"1h": N_("last 1h"), "24h": N_("last 24h"), "7d": N_("last 7d")}  # translated where shown
MAX_ROWS = 200_000
STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#52606d",
    font_family="system-ui, sans-serif",
    no_data_font_size=28,  # pygal's 64 clips the longer languages' "no tickets in this period" at 900 wide
    colors=("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777"),
)


@dataclass(frozen=True)
class BucketCounts:
    """Values per time bucket, one series per category, status or metric (None: no value there)."""

    labels: list[str]
    series: Mapping[str, Sequence[float | None]]


def tick(moment: datetime, *, daily: bool, locale: str) -> str:
    """An axis label in the reader's locale: month and day for daily buckets, else hours and minutes."""
    return str(format_skeleton("MMdd" if daily else "Hm", moment, locale=locale))


def bucket_counts(conn: Connection, *, by: str, span: str, now: datetime, locale: str) -> BucketCounts:
    """Count events of the last `span` per bucket and per `by` (category or status), labelled in `locale`."""
    back, width = SPANS[span]
    start = now - back
    buckets = int(back / width)
    column = events.c.category if by == "category" else events.c.status
    rows = conn.execute(
        select(events.c.timestamp, column).where(events.c.timestamp >= start).order_by(events.c.seq).limit(MAX_ROWS)
    )
    series: dict[str, list[int]] = {}
    for timestamp, key in rows:
        index = min(int((timestamp - start) / width), buckets - 1)
        series.setdefault(str(key), [0] * buckets)[index] += 1
    daily = width >= timedelta(days=1)
    labels = [tick(start + width * (i + 1), daily=daily, locale=locale) for i in range(buckets)]
    return BucketCounts(labels, dict(sorted(series.items())))


def render(counts: BucketCounts, *, title: str, empty: str, locale: str, stacked: bool = True) -> bytes:
    """A bar chart (stacked, or side by side) as a standalone SVG document (no scripts), its numbers written the
    way `locale` writes them."""
    chart = (pygal.StackedBar if stacked else pygal.Bar)(
        title=title,
        style=STYLE,
        js=[],
        width=900,
        height=420,
        x_label_rotation=45,
        show_minor_x_labels=False,
        legend_at_bottom=True,
        no_data_text=empty,
        value_formatter=lambda value: format_decimal(value, locale=locale),
    )
    chart.x_labels = counts.labels
    chart.x_labels_major = counts.labels[:: max(1, len(counts.labels) // 12)]
    for name, values in counts.series.items():
        chart.add(name, values)
    svg: bytes = chart.render()
    return svg
