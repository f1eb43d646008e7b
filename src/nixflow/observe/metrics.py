"""The process's Prometheus metrics, one definition each (docs/architecture.md, "Operations: metrics and logs").

Metric objects live in prometheus-client's process registry, as the library intends: they are counters in
memory, cheap to create, and every floor (writer, dispatcher, scheduler, routes) updates the same ones. What
needs the database (lag, unfinished events) is computed at scrape time by `api.metrics`, per app.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "nixflow_http_requests_total",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "nixflow_http_request_duration_seconds", "Time to answer an HTTP request, by route template.", ["method", "route"]
)
EVENTS_WRITTEN = Counter("nixflow_events_written_total", "Events committed to the log, by type.", ["type"])
EVENTS_HANDLED = Counter(
    "nixflow_events_handled_total", "Handler runs on an event, by handler and outcome.", ["handler", "outcome"]
)
HANDLER_DURATION = Histogram("nixflow_handler_duration_seconds", "Time one handler took on one event.", ["handler"])
EVENTS_DEAD_LETTERED = Counter(
    "nixflow_events_dead_lettered_total", "Events that failed their last attempt (status failed), by type.", ["type"]
)
WRITER_TURN = Histogram("nixflow_writer_turn_seconds", "Time the writer took to commit one batch of units of work.")
JOB_DURATION = Histogram("nixflow_periodic_job_duration_seconds", "Time one periodic job took per tick.", ["job"])
JOB_WORK = Counter("nixflow_periodic_job_items_total", "Items a periodic job handled (sla: tickets due).", ["job"])
JOB_FAILURES = Counter("nixflow_periodic_job_failures_total", "Ticks on which a periodic job failed.", ["job"])
JOB_LAST_RUN = Gauge(
    "nixflow_periodic_job_last_run_timestamp_seconds", "When a periodic job last finished (Unix time).", ["job"]
)
WEBSOCKETS = Gauge("nixflow_websocket_connections", "WebSocket connections open in this process.")
MAIL_RECEIVED = Counter("nixflow_mail_received_total", "Inbound mails taken in, by outcome.", ["outcome"])
NOTIFICATIONS_SENT = Counter("nixflow_notifications_sent_total", "Notification mails, by outcome.", ["outcome"])
WEBHOOK_ATTEMPTS = Counter("nixflow_webhook_attempts_total", "Webhook delivery attempts, by outcome.", ["outcome"])

# Events whose writing is itself the thing counted: mail in, notification mail out.
_COUNTED_BY_TYPE: dict[str, tuple[Counter, str]] = {
    "email.received": (MAIL_RECEIVED, "received"),
    "email.quarantined": (MAIL_RECEIVED, "quarantined"),
    "email.bounced": (MAIL_RECEIVED, "bounced"),
    "notification.sent": (NOTIFICATIONS_SENT, "sent"),
    "notification.failed": (NOTIFICATIONS_SENT, "failed"),
}


def count_written(types: Iterable[str]) -> None:
    """Count committed events by type, and the mail and notification outcomes they record."""
    for event_type in types:
        EVENTS_WRITTEN.labels(event_type).inc()
        counted = _COUNTED_BY_TYPE.get(event_type)
        if counted is not None:
            counted[0].labels(counted[1]).inc()


def observe_job(job: str, seconds: float, items: int) -> None:
    """Record one successful tick of a periodic job: its duration, the items it handled, when it finished."""
    JOB_DURATION.labels(job).observe(seconds)
    JOB_WORK.labels(job).inc(max(items, 0))
    JOB_LAST_RUN.labels(job).set_to_current_time()
