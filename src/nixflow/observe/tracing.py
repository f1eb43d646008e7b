"""Trace hooks: one span per request, unit of work, written event, handler run and outgoing call.

Each hook is a no-op until `install` hands it a backend: `observe/otel.py`, which the CLI imports only when
NIXFLOW_OTEL_ENDPOINT is set, so the core install never imports OpenTelemetry.

The ids are derived, not remembered, so any process can join a ticket's trace: the trace id is the event's
correlation id (a UUID's 128 bits; any other string's SHA-256 prefix), and each written event has a span whose id
is derived from its event id, the parent of every handler run on it in whatever process.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Protocol

from nixflow.observe.logs import Traced

Attributes = Mapping[str, str | int]


class Emitted(Traced, Protocol):
    """An event as a span needs it."""

    @property
    def type(self) -> str: ...
    @property
    def causation_id(self) -> str | None: ...


class Unit(Protocol):
    """A unit of work's context as a span needs it (`EventContext`)."""

    @property
    def correlation_id(self) -> str: ...
    @property
    def causation_id(self) -> str | None: ...
    @property
    def source(self) -> str: ...


class RequestSpan(Protocol):
    def finish(self, route: str, status: int) -> None:
        """Name the span after the matched route template and record the answer's status."""


class Backend(Protocol):
    def current(self) -> object | None: ...
    def request(self, method: str, correlation_id: str) -> AbstractContextManager[RequestSpan]: ...
    def unit_of_work(self, ctx: Unit, parent: object | None) -> AbstractContextManager[None]: ...
    def emitted(self, record: Emitted) -> None: ...
    def handling(self, record: Emitted, handler: str) -> AbstractContextManager[None]: ...
    def outgoing(self, name: str, cause: Traced | None, attributes: Attributes) -> AbstractContextManager[None]: ...
    def flush(self) -> None: ...


@dataclass
class _Installed:
    backend: Backend | None = None


_INSTALLED = _Installed()  # one per process, like the logging configuration: set by the CLI, never at import


class _Untraced:
    def finish(self, route: str, status: int) -> None:
        return None


_UNTRACED = nullcontext(_Untraced())
_NOTHING = nullcontext()


def install(backend: Backend | None) -> None:
    """Trace this process through `backend` (None: stop tracing)."""
    _INSTALLED.backend = backend


def flush() -> None:
    """Export the spans still batched (a process about to stop)."""
    backend = _INSTALLED.backend
    if backend is not None:
        backend.flush()


def enabled() -> bool:
    return _INSTALLED.backend is not None


def trace_id(correlation_id: str) -> int:
    """The trace of a correlation: a UUID's 128 bits, so the correlation id *is* the trace id."""
    return _uuid_bits(correlation_id) or int.from_bytes(hashlib.sha256(correlation_id.encode()).digest()[:16], "big")


def unit_trace_id(correlation_id: str) -> int | None:
    """The trace of a unit of work: its correlation's, if that is a UUID; else None (its submitter's, or a new
    one). A periodic job's units share a fixed correlation ("timers", "notifications"): one trace for each run, not
    one trace of every run since the process started."""
    return _uuid_bits(correlation_id)


def _uuid_bits(text: str) -> int | None:
    try:
        return uuid.UUID(text).int or None
    except ValueError:
        return None


def event_span_id(event_id: str) -> int:
    """The span id of an event's writing: every process handling the event derives it to parent its spans."""
    return int.from_bytes(hashlib.sha256(b"event:" + event_id.encode()).digest()[:8], "big") or 1


def current() -> object | None:
    """The active span, for work handed to another thread (the writer) to continue it."""
    backend = _INSTALLED.backend
    return None if backend is None else backend.current()


def request(method: str, correlation_id: str) -> AbstractContextManager[RequestSpan]:
    """An HTTP request, in the trace of the correlation its units of work will carry."""
    backend = _INSTALLED.backend
    return _UNTRACED if backend is None else backend.request(method, correlation_id)


def unit_of_work(ctx: Unit, parent: object | None) -> AbstractContextManager[None]:
    """A unit of work: under `parent` (the submitter's span) when that is of the same correlation."""
    backend = _INSTALLED.backend
    return _NOTHING if backend is None else backend.unit_of_work(ctx, parent)


def emitted(record: Emitted) -> None:
    """An event written by the active span (its id is `event_span_id`)."""
    backend = _INSTALLED.backend
    if backend is not None:
        backend.emitted(record)


def handling(record: Emitted, handler: str) -> AbstractContextManager[None]:
    """One handler's run on one event, a child of the event's span; its outcome is recorded."""
    backend = _INSTALLED.backend
    return _NOTHING if backend is None else backend.handling(record, handler)


def outgoing(name: str, cause: Traced | None, **attributes: str | int) -> AbstractContextManager[None]:
    """A call to another server (SMTP, a webhook, IMAP), in the trace of the event that caused it if any."""
    backend = _INSTALLED.backend
    return _NOTHING if backend is None else backend.outgoing(name, cause, attributes)
