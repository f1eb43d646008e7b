"""The OpenTelemetry backend of `observe.tracing`: spans exported over OTLP/HTTP by a batch processor.

Imported only by the CLI, and only when NIXFLOW_OTEL_ENDPOINT is set (the `otel` extra). The SDK's id generator
is asked for the ids `tracing` derives (a correlation's trace id, an event's span id) through two context
variables set around the span's start; every other span gets random ids.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.sdk.trace.sampling import SamplingResult, TraceIdRatioBased
from opentelemetry.trace import Link, NonRecordingSpan, Span, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes as SdkAttributes

from nixflow.observe import tracing
from nixflow.observe.logs import Traced
from nixflow.observe.tracing import Attributes, Emitted, RequestSpan, Unit

_TRACE_ID: ContextVar[int | None] = ContextVar("nixflow_otel_trace_id", default=None)
_SPAN_ID: ContextVar[int | None] = ContextVar("nixflow_otel_span_id", default=None)
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)


class _ChosenIds(IdGenerator):
    """Random ids, except where `_start` chose one."""

    def __init__(self) -> None:
        self.random = RandomIdGenerator()

    def generate_span_id(self) -> int:
        return _SPAN_ID.get() or self.random.generate_span_id()

    def generate_trace_id(self) -> int:
        return _TRACE_ID.get() or self.random.generate_trace_id()


class SampledByCorrelation(TraceIdRatioBased):
    """Keeps `rate` of the traces, deciding on a hash of the trace id: the SDK's ratio sampler reads the low 64 bits,
    which in a UUID (a correlation id) start with the fixed variant bits `10`. Every process, every span of one
    trace, takes the same decision (the parent's sampled flag is not consulted: a handler's parent is derived)."""

    def should_sample(
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: SdkAttributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        mixed = int.from_bytes(hashlib.sha256(trace_id.to_bytes(16, "big")).digest()[:8], "big")
        return super().should_sample(parent_context, mixed, name, kind, attributes, links, trace_state)


def install(endpoint: str, *, service: str, sample_rate: float = 1.0) -> TracerProvider:
    """Trace this process to the OTLP/HTTP receiver at `endpoint`, keeping `sample_rate` of the traces; the provider
    flushes its batch at exit."""
    resource = Resource.create({"service.name": service, "process.pid": os.getpid()})
    provider = TracerProvider(
        resource=resource,
        id_generator=_ChosenIds(),
        sampler=SampledByCorrelation(sample_rate),
        shutdown_on_exit=True,
    )
    exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))  # tuned by the standard OTEL_BSP_* variables
    tracing.install(OtelTracing(provider))
    return provider


class _Request:
    def __init__(self, span: Span, method: str) -> None:
        self.span, self.method = span, method

    def finish(self, route: str, status: int) -> None:
        self.span.update_name(f"{self.method} {route}")
        self.span.set_attributes({"http.route": route, "http.response.status_code": status})
        if status >= 500:
            self.span.set_status(Status(StatusCode.ERROR))


class OtelTracing:
    """`tracing.Backend` on an OpenTelemetry tracer provider."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer("nixflow")

    def flush(self) -> None:
        self.provider.force_flush(timeout_millis=10_000)

    def current(self) -> object | None:
        found = trace.get_current_span().get_span_context()
        return found if found.is_valid else None

    def _start(
        self,
        name: str,
        *,
        trace_id: int | None,
        parent: SpanContext | None,
        attributes: Attributes,
        span_id: int | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
    ) -> Span:
        """A span under `parent` when it is in trace `trace_id` (None: any), else the root of that trace, linked to
        `parent`."""
        links: list[Link] = []
        if parent is not None and trace_id in (None, parent.trace_id):
            context = trace.set_span_in_context(NonRecordingSpan(parent))
        else:
            context = otel_context.Context()
            links = [Link(parent)] if parent is not None else []
        chosen_trace, chosen_span = _TRACE_ID.set(trace_id), _SPAN_ID.set(span_id)
        try:
            return self.tracer.start_span(name, context=context, kind=kind, attributes=attributes, links=links)
        finally:
            _SPAN_ID.reset(chosen_span)
            _TRACE_ID.reset(chosen_trace)

    def _parent(self, parent: object | None) -> SpanContext | None:
        return parent if isinstance(parent, SpanContext) else None

    @contextmanager
    def request(self, method: str, correlation_id: str) -> Iterator[RequestSpan]:
        span = self._start(
            f"{method} unmatched",
            trace_id=tracing.trace_id(correlation_id),
            parent=None,
            attributes={"http.request.method": method, "nixflow.correlation_id": correlation_id},
            kind=SpanKind.SERVER,
        )
        with trace.use_span(span, end_on_exit=True):
            yield _Request(span, method)

    def unit_of_work(self, ctx: Unit, parent: object | None) -> AbstractContextManager[None]:
        attributes = {"nixflow.correlation_id": ctx.correlation_id, "nixflow.source": ctx.source}
        if ctx.causation_id is not None:
            attributes["nixflow.causation_id"] = ctx.causation_id
        trace_id = tracing.unit_trace_id(ctx.correlation_id)
        context = self._parent(parent)
        if context is None and trace_id is not None and ctx.causation_id is not None:
            # Started by no span of this process but by an event (a mail's `notification.sent`): under that event.
            context = SpanContext(
                trace_id=trace_id,
                span_id=tracing.event_span_id(ctx.causation_id),
                is_remote=True,
                trace_flags=_SAMPLED,
            )
        span = self._start(f"unit of work {ctx.source}", trace_id=trace_id, parent=context, attributes=attributes)
        return _active(span)

    def emitted(self, record: Emitted) -> None:
        self._start(
            f"event {record.type}",
            trace_id=tracing.trace_id(record.correlation_id),
            parent=self._parent(self.current()),
            attributes=_event_attributes(record),
            span_id=tracing.event_span_id(record.event_id),
        ).end()

    @contextmanager
    def handling(self, record: Emitted, handler: str) -> Iterator[None]:
        span = self._start(
            f"handler {handler}",
            trace_id=None,
            parent=_event_span(record),
            attributes={**_event_attributes(record), "nixflow.handler": handler},
        )
        with _active(span):
            try:
                yield
            except BaseException:
                span.set_attribute("nixflow.outcome", "failed")
                raise
            span.set_attribute("nixflow.outcome", "completed")

    def outgoing(self, name: str, cause: Traced | None, attributes: Attributes) -> AbstractContextManager[None]:
        parent = self._parent(self.current()) if cause is None else _event_span(cause)
        if cause is not None:
            attributes = {
                **attributes,
                "nixflow.event_id": cause.event_id,
                "nixflow.correlation_id": cause.correlation_id,
            }
        return _active(self._start(name, trace_id=None, parent=parent, attributes=attributes, kind=SpanKind.CLIENT))


def _active(span: Span) -> AbstractContextManager[None]:
    """`span` current until the block ends, then ended; an exception leaving the block marks it an error."""
    return trace.use_span(span, end_on_exit=True, record_exception=True, set_status_on_exception=True)  # type: ignore[return-value]


def _event_span(record: Traced) -> SpanContext:
    """The span that wrote `record`, whichever process wrote it."""
    return SpanContext(
        trace_id=tracing.trace_id(record.correlation_id),
        span_id=tracing.event_span_id(record.event_id),
        is_remote=True,
        trace_flags=_SAMPLED,
    )


def _event_attributes(record: Emitted) -> dict[str, str | int]:
    attributes: dict[str, str | int] = {
        "nixflow.event_id": record.event_id,
        "nixflow.event_type": record.type,
        "nixflow.correlation_id": record.correlation_id,
    }
    if record.causation_id is not None:
        attributes["nixflow.causation_id"] = record.causation_id
    return attributes
