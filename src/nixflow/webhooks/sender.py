"""The deliverer: fans the log out to subscriptions and sends due deliveries, signed per Standard Webhooks.

It runs beside the periodic jobs (in `nixflow worker`, or in `nixflow serve` unless `--no-worker`), in a
loop of its own so that a slow receiver never holds up the SLA timers: woken by every committed event the
process sees (the log tailer) and every `tick`. Each subscription has its own few lanes (`LANES`), so a
slow or dead receiver uses up its own lanes only. Claims and outcomes are short units of work; the HTTP
request happens between them, never inside a transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from standardwebhooks.webhooks import Webhook

from nixflow.crypto import BadSecret, Keyring
from nixflow.domain.envelope import EventContext, EventRecord
from nixflow.ids import uuid7
from nixflow.observe import metrics, tracing
from nixflow.outbound import targets
from nixflow.store import event_log
from nixflow.store.db import Clock, Database
from nixflow.store.tables import SYSTEM_USER_ID
from nixflow.store.writer import Writer
from nixflow.webhooks import deliveries, subscriptions
from nixflow.webhooks.deliveries import Claimed, Outcome
from nixflow.webhooks.model import Subscription, is_success, retry_delay

log = logging.getLogger(__name__)

EXCERPT_BYTES = 1024
EXCERPT_CHARS = 500
USER_AGENT = "NixFlow-Webhooks/1"
UNDECRYPTABLE = (
    "the signing secret cannot be decrypted: the key it was stored under is no longer in NIXFLOW_SECRET_KEY "
    "or NIXFLOW_SECRET_KEY_PREVIOUS (put that key back, or rotate the subscription's secret)"
)


def body_of(record: EventRecord) -> str:
    """The request body: the event envelope exactly as `GET /api/events/{id}` shows it."""
    return json.dumps(record.envelope(), ensure_ascii=False, separators=(",", ":"))


def signed_headers(event_id: str, body: str, secrets: Sequence[str], at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers: `webhook-id` (the event id, the same on every retry), `webhook-timestamp`
    and `webhook-signature` (one `v1,<base64>` per signing secret, space-separated)."""
    signatures = " ".join(Webhook(secret).sign(event_id, at, body) for secret in secrets)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }


@dataclass(frozen=True)
class DelivererConfig:
    """How the deliverer behaves: private targets, the retry scale, the claim lease and the polling interval."""

    allow_private: bool = False
    retry_scale: float = 1.0
    lease_seconds: float = 30.0
    interval_seconds: float = 1.0

    @property
    def timeout(self) -> float:
        """10 s per request, or a third of the lease if that is shorter: a live claim never runs out under it."""
        return max(0.2, min(10.0, self.lease_seconds / 3))


class WebhookDeliverer:
    """Fan-out and delivery, forever (`start`) or one round at a time (`run_once`)."""

    LANES = 4  # deliveries of one subscription in flight at once (each a different ticket)

    def __init__(self, *, db: Database, writer: Writer, keys: Keyring, clock: Clock, config: DelivererConfig) -> None:
        self.db = db
        self.writer = writer
        self.keys = keys
        self.clock = clock
        self.config = config
        self._busy: dict[int, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._failing: str | None = None
        self._subscribed = True  # whether the last round found a subscription to work for

    # -- running ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Deliver in the background until `stop`."""
        self._wake = asyncio.Event()
        self._stopping = False
        self._task = asyncio.create_task(self._forever(), name="nixflow-webhooks")

    async def stop(self) -> None:
        """Stop; deliveries in flight are abandoned and their claims run out, so they are sent again later."""
        self._stopping = True
        self.wake()
        for task in [t for t in (self._task, *self._tasks) if t is not None]:
            task.cancel()
        pending = [t for t in (self._task, *self._tasks) if t is not None]
        if pending:
            await asyncio.wait(pending, timeout=10)
        self._task = None
        self._tasks.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def observe(self, records: Sequence[EventRecord]) -> None:
        """A log tail sink (called on the event loop with each page of newly committed events): run a round now,
        unless the last round found no subscription and none was made or changed since (no work per commit)."""
        if self._subscribed or any(r.category == "webhook" for r in records):
            self.wake()

    def wake(self) -> None:
        """Run a round now."""
        if self._wake is not None:
            self._wake.set()

    async def _forever(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            self._wake.clear()
            try:
                await self.run_once()
                if self._failing is not None:
                    log.info("webhook delivery works again")
                    self._failing = None
            except Exception as exc:
                summary = f"{type(exc).__name__}: {exc}".splitlines()[0]
                if summary != self._failing:
                    log.warning("webhook delivery failing, retried every tick: %s", summary)
                    self._failing = summary
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.config.interval_seconds)

    def _ctx(self) -> EventContext:
        return EventContext(correlation_id=uuid7(), actor_id=SYSTEM_USER_ID, source="webhooks.deliverer")

    # -- one round --------------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Fan out what each subscription has not read yet, then start every due delivery a lane is free for;
        returns how many deliveries were started."""
        found = await self.db.read(subscriptions.active)
        self._subscribed = bool(found)
        for subscription in found:
            await self._fan_out(subscription)
        started = 0
        for subscription in found:
            started += await self._dispatch(subscription)
        return started

    async def _fan_out(self, subscription: Subscription) -> None:
        page = await self.db.read(lambda conn: deliveries.read_new(conn, subscription))
        if page.position == subscription.cursor:
            return
        await self.writer.run(
            lambda tx: deliveries.fan_out(tx, subscription, position=page.position, records=page.records), self._ctx()
        )
        if page.more:
            self.wake()

    async def _dispatch(self, subscription: Subscription) -> int:
        free = self.LANES - self._busy.get(subscription.id, 0)
        if free <= 0:
            return 0
        now = self.clock()
        stale = now - timedelta(seconds=self.config.lease_seconds)
        ids = await self.db.read(
            lambda conn: deliveries.due(conn, webhook_id=subscription.id, now=now, stale_before=stale, limit=free)
        )
        if not ids:
            return 0
        held = await self.writer.run(lambda tx: deliveries.claim(tx, ids, stale_before=stale), self._ctx())
        for claimed in held:
            self._busy[subscription.id] = self._busy.get(subscription.id, 0) + 1
            task = asyncio.create_task(self._deliver(subscription, claimed), name=f"webhook-{claimed.delivery_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(held)

    async def _deliver(self, subscription: Subscription, held: Claimed) -> None:
        try:
            outcome = await self.attempt(subscription, held.event_id)
            status = await self.writer.run(
                lambda tx: deliveries.record(tx, subscription, held, outcome, scale=self.config.retry_scale),
                self._ctx(),
            )
            metrics.WEBHOOK_ATTEMPTS.labels("shadow" if outcome.shadow else status or "lost").inc()
            delay = retry_delay(held.attempts + 1, self.config.retry_scale)
            if status == "retrying" and delay is not None:  # a round when it is due, not at the next tick
                asyncio.get_running_loop().call_later(delay.total_seconds(), self.wake)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("webhook delivery %s failed; its claim runs out and it is sent again", held.delivery_id)
        finally:
            self._busy[subscription.id] -= 1
            self.wake()

    # -- one attempt ------------------------------------------------------------------------------------

    async def attempt(self, subscription: Subscription, event_id: str) -> Outcome:
        """Build, sign and (unless in shadow mode) send one event to one subscription."""
        record = await self.db.read(lambda conn: event_log.find(conn, event_id))
        if record is None:
            return Outcome(at=self.clock(), error="the event is no longer in the log", final=True)
        body = body_of(record)
        try:
            secrets = subscriptions.signing_secrets(self.keys, subscription, self.clock())
        except BadSecret:
            # A failed attempt like any other (recorded, retried later, the subscription disabled in the end),
            # not an exception: nothing is sent unsigned, and the log is not filled with a traceback per lease.
            return Outcome(at=self.clock(), error=UNDECRYPTABLE)
        headers = signed_headers(event_id, body, secrets, datetime.now(UTC))
        if subscription.mode == "shadow":
            # Ids only: the body carries comment texts and internal notes, which do not belong in a log.
            log.info("webhook %s (shadow, not sent): event %s (%s)", subscription.id, event_id, record.type)
            return Outcome(at=self.clock(), shadow=True)
        with tracing.outgoing("webhook delivery", record, subscription_id=subscription.id):
            return await self._post(subscription.url, body.encode(), headers)

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
        at = self.clock()
        try:
            target = await targets.check(url, allow_private=self.config.allow_private)
        except targets.Refused as exc:
            return Outcome(at=at, error=f"target refused: {exc}")
        extensions = {}
        if target.address is not None:
            headers = {**headers, "host": target.host_header()}
            if url.startswith("https:"):
                extensions["sni_hostname"] = target.host
        started = time.monotonic()
        status: int | None = None
        excerpt: str | None = None
        error: str | None = None
        try:
            async with asyncio.timeout(self.config.timeout):
                client = self._http()
                request = client.build_request(
                    "POST", target.request_url(), content=body, headers=headers, extensions=extensions
                )
                response = await client.send(request, stream=True)
                try:
                    status = response.status_code
                    excerpt = await _excerpt(response)
                finally:
                    await response.aclose()
        except TimeoutError:
            error = f"no answer within {self.config.timeout:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        latency = int((time.monotonic() - started) * 1000)
        if status is not None and not is_success(status):
            redirect = " (redirects are not followed)" if 300 <= status < 400 else ""
            error = f"the receiver answered {status}{redirect}"
        return Outcome(at=at, status_code=status, latency_ms=latency, excerpt=excerpt, error=error)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # No redirects, no proxies from the environment, no kept connections (each request goes to the
            # address just checked, with its own name for TLS).
            self._client = httpx.AsyncClient(
                follow_redirects=False,
                trust_env=False,
                timeout=self.config.timeout,
                limits=httpx.Limits(max_keepalive_connections=0),
            )
        return self._client


async def _excerpt(response: httpx.Response) -> str:
    taken = b""
    async for chunk in response.aiter_bytes():
        taken += chunk
        if len(taken) >= EXCERPT_BYTES:
            break
    return taken[:EXCERPT_BYTES].decode("utf-8", errors="replace")[:EXCERPT_CHARS]
