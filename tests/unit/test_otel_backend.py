"""The OpenTelemetry backend without a network: which span is whose parent, across processes, and a failed
handler's outcome (the SDK's in-memory exporter; the OTLP path to a real receiver is test_traces.py's)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from nixflow.observe import otel, tracing

CORRELATION = "01a250e5-2ae4-7064-9ce7-7e3e5049a48e"


@dataclass(frozen=True)
class Event:
    event_id: str
    type: str
    correlation_id: str = CORRELATION
    causation_id: str | None = None


@dataclass(frozen=True)
class Ctx:
    correlation_id: str
    source: str = "api"
    causation_id: str | None = None


def _install(sample_rate: float = 1.0) -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    sampler = otel.SampledByCorrelation(sample_rate)
    provider = TracerProvider(sampler=sampler, id_generator=otel._ChosenIds(), shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(otel.OtelTracing(provider))
    return exporter


@pytest.fixture(autouse=True)
def uninstall() -> Iterator[None]:
    yield
    tracing.install(None)


def test_a_handler_in_another_process_is_the_child_of_the_span_that_wrote_its_event() -> None:
    exporter = _install()
    created = Event("01a250e5-0000-7000-8000-000000000001", "ticket.created")
    with tracing.request("POST", CORRELATION) as request:
        with tracing.unit_of_work(Ctx(CORRELATION), tracing.current()):
            tracing.emitted(created)
        request.finish("/api/tickets", 201)
    tracing.install(None)  # "another process": nothing is shared but the event
    elsewhere = _install()
    with tracing.handling(created, "automation.rules"):
        tracing.emitted(Event("01a250e5-0000-7000-8000-000000000002", "ticket.assigned", causation_id=created.event_id))
    first = {span.name: span for span in exporter.get_finished_spans()}
    second = {span.name: span for span in elsewhere.get_finished_spans()}
    assert {span.context.trace_id for span in [*first.values(), *second.values()]} == {tracing.trace_id(CORRELATION)}
    assert first["POST /api/tickets"].parent is None
    assert first["unit of work api"].parent.span_id == first["POST /api/tickets"].context.span_id  # type: ignore[union-attr]
    assert first["event ticket.created"].context.span_id == tracing.event_span_id(created.event_id)
    assert second["handler automation.rules"].parent.span_id == tracing.event_span_id(created.event_id)  # type: ignore[union-attr]
    assert second["event ticket.assigned"].parent.span_id == second["handler automation.rules"].context.span_id  # type: ignore[union-attr]
    assert second["handler automation.rules"].attributes["nixflow.outcome"] == "completed"  # type: ignore[index]


def test_a_failing_handlers_span_says_so() -> None:
    exporter = _install()
    with pytest.raises(ValueError), tracing.handling(Event("01a250e5-0000-7000-8000-000000000003", "x.y"), "h"):
        raise ValueError("no")
    (span,) = exporter.get_finished_spans()
    assert span.attributes["nixflow.outcome"] == "failed" and not span.status.is_ok  # type: ignore[index]


def test_sampling_keeps_its_share_of_correlations_and_whole_traces_only() -> None:
    kept = 0
    for n in range(200):
        correlation = str(uuid.uuid4())  # like a UUIDv7, its bits 64-65 are the variant's `10`
        exporter = _install(sample_rate=0.25)
        event = Event(f"01a250e5-0000-7000-8000-{n:012x}", "ticket.created", correlation_id=correlation)
        with tracing.unit_of_work(Ctx(correlation), None):
            tracing.emitted(event)
        tracing.install(None)
        elsewhere = _install(sample_rate=0.25)  # another process handles the event
        with tracing.handling(event, "automation.rules"):
            pass
        here, there = len(exporter.get_finished_spans()), len(elsewhere.get_finished_spans())
        assert (here, there) in ((0, 0), (2, 1)), (here, there)
        kept += bool(here)
    assert 20 <= kept <= 80, kept  # 50 expected; the SDK's own ratio sampler keeps none of these at 0.25
