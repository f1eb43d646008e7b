"""Log context (request, correlation and event ids) and the one-object-per-line JSON format.

The ids live in context variables: the request middleware sets the request id, the dispatcher sets the
correlation and event id while a handler runs, and `ContextFilter` copies them onto every record, so a line
written deep in a handler still says which request and which ticket's automation it belongs to.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal, Protocol

REQUEST_ID: ContextVar[str | None] = ContextVar("nixflow_request_id", default=None)
CORRELATION_ID: ContextVar[str | None] = ContextVar("nixflow_correlation_id", default=None)
EVENT_ID: ContextVar[str | None] = ContextVar("nixflow_event_id", default=None)
_CONTEXT = (("request_id", REQUEST_ID), ("correlation_id", CORRELATION_ID), ("event_id", EVENT_ID))
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class Traced(Protocol):
    @property
    def event_id(self) -> str: ...
    @property
    def correlation_id(self) -> str: ...


@contextmanager
def handling(record: Traced) -> Iterator[None]:
    """While a handler runs on `record`: its log lines carry the event's id and correlation id."""
    with caused_by(record.event_id, record.correlation_id):
        yield


@contextmanager
def caused_by(event_id: str | None, correlation_id: str | None) -> Iterator[None]:
    """While work caused by an event runs (a handler, a job sending what a handler planned): its lines carry both."""
    event_token = EVENT_ID.set(event_id)
    correlation_token = CORRELATION_ID.set(correlation_id)
    try:
        yield
    finally:
        CORRELATION_ID.reset(correlation_token)
        EVENT_ID.reset(event_token)


class ContextFilter(logging.Filter):
    """Copies the current ids onto each record (None where there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _CONTEXT:
            if not hasattr(record, name):
                setattr(record, name, var.get())
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the ids there are, and a traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, _ in _CONTEXT:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter(style: Literal["text", "json"]) -> logging.Formatter:
    """The formatter for NIXFLOW_LOG_FORMAT."""
    return JsonFormatter() if style == "json" else logging.Formatter(TEXT_FORMAT)


def configure(style: Literal["text", "json"]) -> None:
    """Log INFO and up to stderr, as text or JSON lines, every record carrying the current ids."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(style))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
