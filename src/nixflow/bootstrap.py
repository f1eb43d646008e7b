"""The composition root: settings in, a wired NixFlow out. Nothing else builds engines or transports."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from nixflow import crypto
from nixflow.automation import workflow_start
from nixflow.automation.engine import RuleEngine
from nixflow.automation.round_robin import CounterStore, RedisCounterStore, SqlCounterStore
from nixflow.automation.timers import TimedAutomation
from nixflow.automation.workflow_deadlines import WorkflowDeadlines
from nixflow.config import Settings
from nixflow.domain.envelope import EventContext, EventRecord
from nixflow.domain.values import EventStatus
from nixflow.email_in import intake
from nixflow.email_in.mailbox import MailboxPoller
from nixflow.event_handlers import Consumer, subscriptions
from nixflow.events.bus import Handler, HandlerRegistry, InProcessTransport, Transport
from nixflow.events.dedup import DedupStore, MemoryDedup, RedisDedup
from nixflow.events.dispatch import Dispatcher
from nixflow.events.redis_transport import RedisStreamsTransport
from nixflow.events.tail import LogTailer
from nixflow.ids import utcnow, uuid7
from nixflow.kb.read_ledger import ReadLedger
from nixflow.live import LiveHub
from nixflow.mailwire.addresses import MailConfig
from nixflow.notifications.consumer import NotificationConsumer, NotifyConfig
from nixflow.notifications.sender import NotificationSender
from nixflow.observe import tracing
from nixflow.presence.hub import PresenceHub, ticket_visible
from nixflow.presence.store import MemoryPresence, PresenceStore, RedisPresence
from nixflow.reports import projection as report_projection
from nixflow.search import projection as search_projection
from nixflow.services import auth, sessions, ticket_queries
from nixflow.services.auth import Authenticated
from nixflow.services.credentials import CredentialCache, RedisGeneration
from nixflow.services.housekeeping import Housekeeping, Retention
from nixflow.services.mail_tokens import MailTokens
from nixflow.services.sessions import Origin, UseLedger
from nixflow.services.ws_tickets import MemoryTickets, RedisTickets, TicketStore
from nixflow.store import migrate
from nixflow.store.db import Clock, Database
from nixflow.store.redis_client import redis_target
from nixflow.store.writer import Writer, make_writer
from nixflow.webhooks import deliveries as webhook_deliveries
from nixflow.webhooks.sender import DelivererConfig, WebhookDeliverer
from nixflow.worker import PeriodicJob, RedisTickLock, Scheduler, Sweeper, TickLock

log = logging.getLogger(__name__)


def default_handlers(
    *, automation_max_depth: int = 5, counters: CounterStore | None = None, notify: NotifyConfig | None = None
) -> list[tuple[str, Handler]]:
    """The (event type, handler) subscriptions, in the order of the one table (`event_handlers.py`)."""
    engine = RuleEngine(counters=counters or SqlCounterStore(), max_depth=automation_max_depth)
    consumers = {
        Consumer.RULES: engine.handler(),
        Consumer.DEPARTURES: engine.departures_handler(),
        Consumer.NOTIFICATIONS: NotificationConsumer(notify or NotifyConfig()).handler(),
        Consumer.REPORTS: report_projection.handler(),
        Consumer.SEARCH: search_projection.handler(),
        Consumer.WORKFLOWS: workflow_start.handler(),
    }
    return subscriptions(consumers)


@dataclass
class NixFlow:
    """Everything a process of NixFlow runs on."""

    settings: Settings
    clock: Clock
    db: Database
    writer: Writer
    registry: HandlerRegistry
    dedup: DedupStore
    dispatcher: Dispatcher
    transport: Transport
    scheduler: Scheduler
    tailer: LogTailer
    consuming: bool = False
    counters: CounterStore = field(default_factory=SqlCounterStore)
    hub: LiveHub = field(default_factory=LiveHub)
    presence: PresenceHub = field(default_factory=lambda: PresenceHub(MemoryPresence()))
    credentials: CredentialCache = field(default_factory=CredentialCache)
    ws_tickets: TicketStore = field(default_factory=MemoryTickets)
    mailbox: MailboxPoller | None = None  # NIXFLOW_IMAP_URL: polled wherever the periodic jobs run
    webhooks: WebhookDeliverer | None = None
    kb_reads: ReadLedger = field(default_factory=ReadLedger)  # knowledge-base reads: recorded once a window
    uses: UseLedger = field(default_factory=UseLedger)  # a credential's last use: written once a minute
    mail_tokens: MailTokens | None = None  # access tokens of the OAuth2 mailboxes, in memory

    async def authenticate(self, token: str) -> Authenticated | None:
        """The valid credential `token` proves, from the cache or else the database."""
        now = self.clock()
        await self.credentials.check_shared()
        found = self.credentials.get(token, now)
        if found is None:
            generation = self.credentials.generation
            keys = crypto.keyring(self.settings)
            found = await self.db.read(lambda conn: auth.authenticate(conn, keys=keys, token=token, now=now))
            if found is not None:
                self.credentials.put(token, found, generation)
        return found

    async def note_use(self, found: Authenticated, origin: Origin) -> None:
        """Record that a credential was used from `origin`: at most once a minute per credential (`UseLedger`)."""
        if self.uses.due(found.token_id, self.clock()):
            ctx = EventContext(correlation_id=uuid7(), actor_id=found.principal.id, source="api")
            await self.writer.run(lambda tx: sessions.record_use(tx, token_id=found.token_id, origin=origin), ctx)

    async def bus_health(self) -> str:
        """The transport's health: `embedded`, `ok`, or what is wrong."""
        try:
            return await self.transport.health()
        except Exception as exc:
            return f"unavailable: {type(exc).__name__}"

    def publish_unfinished(self, records: Sequence[EventRecord]) -> None:
        """Hand just-committed events still `pending` to the transport, and those that ended `failed` to its
        dead letters (the writer's commit listener).

        What the unit of work delivered itself needs no transport; retries wait for the sweeper.
        """
        pending = [r for r in records if r.status is EventStatus.PENDING]
        if pending:
            self.transport.publish(pending)
        failed = [r for r in records if r.status is EventStatus.FAILED]  # a last attempt made inline
        if failed:
            self.transport.dead_letter(failed)

    async def start(self, *, consume: bool = True, tick: bool = True) -> None:
        """Start publishing and delivering events (and ticking the periodic jobs)."""
        await self.transport.start(self.dispatcher, consume=consume)
        self.consuming = True
        await self.tailer.start()
        if tick:
            self.scheduler.start()
            if self.mailbox is not None:
                self.mailbox.start()
            if self.webhooks is not None:
                await self.webhooks.start()

    async def stop(self) -> None:
        """Stop ticking and consuming, finish queued writes, close connections."""
        if self.mailbox is not None:
            await self.mailbox.stop()
        await self.scheduler.stop()
        if self.webhooks is not None:
            await self.webhooks.stop()
        await self.tailer.stop()
        if self.consuming:
            await self.transport.stop()
            self.consuming = False
        self.writer.close()
        if self.credentials.shared is not None:
            await self.credentials.shared.close()
        self.db.dispose()
        tracing.flush()  # now, not at exit: `serve` ends by re-raising uvicorn's SIGTERM, which skips atexit


def build(
    settings: Settings,
    *,
    clock: Clock = utcnow,
    handlers: list[tuple[str, Handler]] | None = None,
    deliver_inline: bool = True,
) -> NixFlow:
    """Wire NixFlow for `settings`: the database, writer, transport, handlers and jobs.

    `deliver_inline=False` leaves every event to the async path (tests use it to build a backlog).
    """
    db = Database(settings.database_url)
    writer = make_writer(db, clock)
    redis_at = redis_target(settings)
    registry = HandlerRegistry()
    counters: CounterStore = (
        RedisCounterStore(redis_at, prefix=settings.redis_prefix) if redis_at else SqlCounterStore()
    )
    if handlers is None:
        notify = NotifyConfig(email=settings.smtp_url is not None, delay_seconds=settings.notify_delay_seconds)
        handlers = default_handlers(
            automation_max_depth=settings.automation_max_depth, counters=counters, notify=notify
        )
    for event_type, handler in handlers:
        registry.subscribe(event_type, handler)
    dedup: DedupStore
    transport: Transport
    jobs: list[PeriodicJob] = []
    lock: TickLock | None = None
    if redis_at:
        streams = RedisStreamsTransport(
            redis_at, prefix=settings.redis_prefix, claim_idle_seconds=settings.claim_idle_seconds
        )
        transport, dedup = streams, RedisDedup(redis_at, prefix=settings.redis_prefix)
        lock = RedisTickLock(streams.redis, prefix=settings.redis_prefix)
        jobs.append(PeriodicJob("stream-trim", lambda _now: streams.trim()))
    else:
        transport, dedup = InProcessTransport(), MemoryDedup()
    dispatcher = Dispatcher(
        writer=writer,
        registry=registry,
        dedup=dedup,
        dedup_ttl_seconds=settings.dedup_ttl_seconds,
        max_attempts=settings.max_attempts,
        retry_base_seconds=settings.retry_base_seconds,
        stale_after_seconds=settings.sweep_after_seconds,
    )
    sweeper = Sweeper(db=db, transport=transport, stale_after_seconds=settings.sweep_after_seconds)
    retention = Retention(
        login_window=timedelta(seconds=settings.login_window_seconds),
        events=timedelta(days=settings.event_retention_days) if settings.event_retention_days else None,
        with_the_log={"webhook_deliveries": webhook_deliveries.cleanup},
    )
    jobs[:0] = [
        PeriodicJob("outbox-sweeper", sweeper),
        PeriodicJob("sla-and-escalation", TimedAutomation(db=db, writer=writer, counters=counters)),
        PeriodicJob("workflow-deadlines", WorkflowDeadlines(db=db, writer=writer)),
        PeriodicJob("housekeeping", Housekeeping(writer=writer, retention=retention)),
    ]
    mail_tokens = MailTokens(db=db, writer=writer, keys=crypto.keyring(settings), clock=clock)
    if settings.smtp_url:
        mail = MailConfig(
            mail_from=settings.mail_from,
            base_url=settings.base_url,
            default_locale=settings.default_locale,
            default_timezone=settings.default_timezone,
        )
        sender = NotificationSender(
            db=db,
            writer=writer,
            smtp_url=settings.smtp_url,
            mail=mail,
            keys=crypto.keyring(settings),
            stale_after_seconds=settings.claim_idle_seconds,
            max_attempts=settings.max_attempts,
            retry_base_seconds=settings.retry_base_seconds,
            tokens=mail_tokens,
        )
        jobs.append(PeriodicJob("notification-sender", sender))
    scheduler = Scheduler(clock=clock, tick_seconds=settings.tick_seconds, jobs=jobs, lock=lock)
    tailer = LogTailer(db, interval=settings.tail_seconds)
    ws_tickets: TicketStore = RedisTickets(redis_at, prefix=settings.redis_prefix) if redis_at else MemoryTickets()
    webhooks = WebhookDeliverer(
        db=db,
        writer=writer,
        keys=crypto.keyring(settings),
        clock=clock,
        config=DelivererConfig(
            allow_private=settings.webhook_allow_private,
            retry_scale=settings.webhook_retry_scale,
            lease_seconds=settings.claim_idle_seconds,
            interval_seconds=settings.tick_seconds,
        ),
    )
    app = NixFlow(
        settings,
        clock,
        db,
        writer,
        registry,
        dedup,
        dispatcher,
        transport,
        scheduler,
        tailer,
        counters=counters,
        ws_tickets=ws_tickets,
        webhooks=webhooks,
        mail_tokens=mail_tokens,
    )
    if settings.imap_url:
        app.mailbox = MailboxPoller(
            url=settings.imap_url,
            writer=writer,
            config=intake.config_from(settings),
            poll_seconds=settings.imap_poll_seconds,
            tokens=mail_tokens,
        )
    tailer.sinks.append(webhooks.observe)
    if deliver_inline:
        writer.before_commit = dispatcher.within

    writer.listeners.append(app.publish_unfinished)
    writer.listeners.append(tailer.wake)
    tailer.sinks.append(app.hub.publish)
    app.hub.owners = lambda ids, people: db.read(lambda conn: ticket_queries.audience_of(conn, ids, people))
    tailer.eager = lambda: bool(app.hub.subscribers)
    presence_store: PresenceStore = (
        RedisPresence(redis_at, prefix=settings.redis_prefix) if redis_at else MemoryPresence()
    )
    app.presence = PresenceHub(
        presence_store,
        ttl_seconds=settings.presence_ttl_seconds,
        poll_seconds=settings.presence_poll_seconds,
        allowed=lambda viewer, ticket_id: db.read(partial(ticket_visible, viewer=viewer, ticket_id=ticket_id)),
    )
    if settings.redis_url:
        app.credentials = CredentialCache(shared=RedisGeneration(settings.redis_url, prefix=settings.redis_prefix))
    writer.listeners.append(app.credentials.committed)
    tailer.sinks.append(app.credentials.observe)
    return app


def upgrade_database(settings: Settings) -> None:
    """Apply migrations to the configured database."""
    db = Database(settings.database_url)
    try:
        migrate.upgrade(db.write_engine)
    finally:
        db.dispose()
