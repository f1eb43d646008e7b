"""HTTP metrics, the request id, and `GET /metrics` for the networks NIXFLOW_METRICS_ALLOW names.

`/metrics` is answered here, before routing, and is not an API route: it is for the operator's Prometheus,
not for API clients (no OpenAPI entry, no token). Outside the allow-list (or with none) the request goes on
to the app, which answers 404 as for any unknown path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from ipaddress import ip_address

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from redis.exceptions import RedisError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nixflow.bootstrap import NixFlow
from nixflow.config import networks
from nixflow.events import stream_backlog
from nixflow.events.redis_transport import RedisStreamsTransport
from nixflow.ids import uuid7
from nixflow.observe import logs, metrics, tracing
from nixflow.store import gauges

METRICS_PATH = "/metrics"
log = logging.getLogger(__name__)


class Observed:
    """Counts, times and traces each HTTP request by route template, gives it a request id and correlation, and
    serves `/metrics`."""

    def __init__(self, app: ASGIApp, allow: str | None) -> None:
        self.app = app
        self.allow = networks(allow) if allow else []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == METRICS_PATH and self._allowed(scope):
            await _scrape(scope["app"].state.nixflow, send)
            return
        token = logs.REQUEST_ID.set(uuid7())
        correlation = correlation_of(scope)
        correlation_token = logs.CORRELATION_ID.set(correlation)
        started = time.perf_counter()
        status = 500

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with tracing.request(scope["method"], correlation) as span:
            try:
                await self.app(scope, receive, observed)
            finally:
                route = getattr(scope.get("route"), "path", "unmatched")  # the template, never the raw path
                span.finish(route, status)
                metrics.HTTP_REQUESTS.labels(scope["method"], route, str(status)).inc()
                metrics.HTTP_DURATION.labels(scope["method"], route).observe(time.perf_counter() - started)
                logs.CORRELATION_ID.reset(correlation_token)
                logs.REQUEST_ID.reset(token)

    def _allowed(self, scope: Scope) -> bool:
        client = scope.get("client")
        if not self.allow or not client:
            return False
        try:
            address = ip_address(client[0])
        except ValueError:
            return False
        return any(address in network for network in self.allow)


def correlation_of(scope: Scope) -> str:
    """The request's correlation: the caller's `X-Correlation-ID` (up to 36 letters, digits and dashes) or a new one.

    Decided here, before routing, so the request's span is in the trace its units of work and events will carry.
    """
    supplied = Headers(scope=scope).get("x-correlation-id", "")
    return supplied if 0 < len(supplied) <= 36 and supplied.replace("-", "").isalnum() else uuid7()


def metrics_only(nixflow: NixFlow) -> ASGIApp:
    """An app answering only `GET /metrics`, for a process that serves no API (`nixflow worker`)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == METRICS_PATH and scope["method"] == "GET":
            await _scrape(nixflow, send)
            return
        await send({"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"not found"})

    return app


async def _scrape(nixflow: NixFlow, send: Send) -> None:
    now = datetime.now(UTC)
    read = await nixflow.db.read(gauges.read)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ScrapeTime(nixflow, read, now))
    registry.register(_StreamBacklog(await _stream_backlog(nixflow)))
    body = generate_latest(REGISTRY) + generate_latest(registry)
    headers = [(b"content-type", CONTENT_TYPE_LATEST.encode()), (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _stream_backlog(nixflow: NixFlow) -> list[stream_backlog.GroupBacklog]:
    transport = nixflow.transport
    if not isinstance(transport, RedisStreamsTransport):
        return []  # embedded: no streams
    try:
        return await stream_backlog.read(transport.redis, transport.names.all())
    except (RedisError, OSError) as exc:
        # A scrape during a Redis outage still answers: the stream gauges are absent, which an alert can see.
        log.warning("metrics: could not read the Redis streams' backlog: %s", exc)
        return []


def _age(at: datetime | None, now: datetime) -> float:
    if at is None:
        return 0.0
    return max((now - (at if at.tzinfo else at.replace(tzinfo=UTC))).total_seconds(), 0.0)


class _ScrapeTime(Collector):
    """The gauges read at scrape time: from the database (one query each) and from this process's writer and pool."""

    def __init__(self, nixflow: NixFlow, read: gauges.Gauges, now: datetime) -> None:
        self.nixflow, self.read, self.now = nixflow, read, now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        read = self.read
        yield GaugeMetricFamily(
            "nixflow_events_unfinished", "Events pending, processing or retrying.", read.unfinished_events
        )
        yield GaugeMetricFamily(
            "nixflow_events_oldest_unfinished_age_seconds",
            "Age of the oldest unfinished event (0 when none).",
            _age(read.oldest_unfinished_at, self.now),
        )
        yield GaugeMetricFamily("nixflow_event_log_head", "The newest position (seq) in the event log.", read.head_seq)
        lag = GaugeMetricFamily(
            "nixflow_consumer_lag_events", "Events in the log after a consumer's position.", labels=["consumer"]
        )
        for subscription_id, cursor in sorted(read.webhook_cursors.items()):
            lag.add_metric([f"webhook:{subscription_id}"], max(read.head_seq - cursor, 0))
        lag.add_metric(["tailer"], max(read.head_seq - self.nixflow.tailer.position[1], 0))
        yield lag
        yield GaugeMetricFamily(
            "nixflow_notifications_waiting", "Notification mails waiting to go out.", read.outbox_waiting
        )
        yield GaugeMetricFamily(
            "nixflow_notifications_oldest_waiting_age_seconds",
            "How long the oldest waiting notification mail has been due (0 when none).",
            _age(read.oldest_waiting_mail_at, self.now),
        )
        yield GaugeMetricFamily(
            "nixflow_writer_queue_depth", "Units of work waiting for the writer.", self.nixflow.writer.queue_depth()
        )
        pool = self.nixflow.db.write_engine.pool
        checked_out = getattr(pool, "checkedout", None)
        if callable(checked_out):
            yield GaugeMetricFamily(
                "nixflow_db_pool_connections_in_use", "Write-pool connections checked out.", float(checked_out())
            )


class _StreamBacklog(Collector):
    """Each Redis stream consumer group's pending entries and lag (scale-out only)."""

    def __init__(self, backlog: list[stream_backlog.GroupBacklog]) -> None:
        self.backlog = backlog

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["stream", "group"]
        pending = GaugeMetricFamily(
            "nixflow_stream_pending_messages",
            "Redis stream entries delivered to a consumer of the group and not acknowledged yet (XPENDING).",
            labels=labels,
        )
        lag = GaugeMetricFamily(
            "nixflow_stream_lag_messages",
            "Redis stream entries not delivered to the group yet (XINFO GROUPS lag; absent where Redis cannot tell).",
            labels=labels,
        )
        for group in self.backlog:
            pending.add_metric([group.stream, group.group], group.pending)
            if group.lag is not None:
                lag.add_metric([group.stream, group.group], group.lag)
        yield pending
        yield lag
