"""The schema, as SQLAlchemy Core tables; migrations under `migrations/` create it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        # SQLite stores text: keep one format (naive UTC) so comparisons in SQL are right.
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# BigInteger ids on PostgreSQL, INTEGER PRIMARY KEY (rowid) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("can_approve", Boolean, nullable=False, default=False),
    Column("password_hash", String(255)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("signature", Text),  # Markdown an agent's public replies end with (services/signatures.py)
    Column("fields", JSON, nullable=False, server_default=text("'{}'")),  # custom field values (domain/fields.py)
    Column("erased_at", UTCDateTime),  # when their personal data was erased (services/erasure.py, migration 0038)
    Column("locale", String(16)),  # the language they chose (nixflow.i18n.LOCALES); NULL: browser, then default
    Column("timezone", String(64)),  # the IANA zone they chose, or their browser's; NULL: the instance default
)

categories = Table(
    "categories",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("calendar_id", BigInteger),  # business hours of its tickets' SLA when the policy has none
    Column("workflow_id", BigInteger),  # the approval workflow its new tickets start (migration 0027)
)

category_agents = Table(
    "category_agents",
    metadata,
    Column("category_id", ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)

# The open view (domain.tickets.OPEN_STATUSES) as the queue writes it: not IN, which SQLite would rather serve
# by searching each status of `ix_tickets_status` and sorting them together.
OPEN_SQL = "status NOT IN ('resolved', 'closed')"

tickets = Table(
    "tickets",
    metadata,
    Column("id", Id, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("category_id", ForeignKey("categories.id")),
    Column("requester_id", ForeignKey("users.id"), nullable=False),
    Column("assignee_id", ForeignKey("users.id")),
    Column("approval", String(16), nullable=False),
    Column("escalation_level", Integer, nullable=False, default=0),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    # SLA: due times move forward by the time spent paused (status `pending`).
    Column("first_response_due", UTCDateTime),
    Column("resolution_due", UTCDateTime),
    Column("first_response_at", UTCDateTime),
    Column("sla_paused_since", UTCDateTime),
    Column("sla_paused_seconds", Integer, nullable=False, default=0),
    Column("sla_state", JSON, nullable=False),  # {"breached": [...], "warned": [...], "met": [...]}
    Column("tags", JSON, nullable=False, server_default=text("'[]'")),  # the aggregate's; `ticket_tags` indexes them
    Column("channel", String(8)),  # web, mail or api (migration 0024; NULL for tickets opened before)
    Column("fields", JSON, nullable=False, server_default=text("'{}'")),  # custom fields; `ticket_field_values` too
    # The next instant a time-based job may have work for this ticket (NULL: none).
    Column("next_check_at", UTCDateTime, index=True),
    # The organization it was opened under (migration 0022; no foreign key: kept as history once it is deleted).
    Column("organization_id", Id),
    Column("merged_into", Id),  # the survivor this ticket was merged into (migration 0026; NULL: not merged)
    # The queue by each filter, newest first (migration 0029): the filter's column, then id, so a page walks the
    # index and stops after it, at any size. (SQLite's index ends in the rowid anyway; PostgreSQL's needs `id`.)
    Index("ix_tickets_status", "status", "id"),
    Index("ix_tickets_priority", "priority", "id"),
    Index("ix_tickets_assignee_id", "assignee_id", "id"),
    Index("ix_tickets_category_id", "category_id", "id"),
    Index("ix_tickets_requester_id", "requester_id", "id"),
    Index("ix_tickets_organization_id", "organization_id", "id"),
    # The open view, the queue's default (domain.tickets.OPEN_STATUSES): its page without the others' rows.
    Index("ix_tickets_open", "id", sqlite_where=text(OPEN_SQL), postgresql_where=text(OPEN_SQL)),
    # `?unassigned=true`: PostgreSQL orders an `IS NULL` match by id only from an index of those rows alone.
    Index(
        "ix_tickets_unassigned",
        "id",
        sqlite_where=text("assignee_id IS NULL"),
        postgresql_where=text("assignee_id IS NULL"),
    ),
    # The queue's most used orders (migration 0017).
    Index("ix_tickets_updated_at", "updated_at", "id"),
    Index("ix_tickets_resolution_due", "resolution_due", "id"),
)

comments = Table(
    "comments",
    metadata,
    Column("id", Id, primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("author_id", ForeignKey("users.id"), nullable=False),
    Column("body", Text, nullable=False),
    Column("internal", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("source", String(8), nullable=False, server_default="api"),  # web | api | email
    # A mail whose sender proved nothing: NULL (not such a mail) | held (an internal note) | published | discarded
    Column("unverified", String(16)),
)

# The delivery states that are not final, as SQL (literal, so SQLite can match its partial index).
UNFINISHED_SQL = "status IN ('pending', 'processing', 'retrying')"
HAS_TXID_SQL = "txid IS NOT NULL"

events = Table(
    "events",
    metadata,
    # `seq` orders the log; `event_id` (UUIDv7) is the public id.
    Column("seq", Id, primary_key=True, autoincrement=True),
    # `insert_sentinel`: its unique value lets one multi-row INSERT ... RETURNING match each `seq` to its row.
    Column("event_id", String(36), nullable=False, unique=True, insert_sentinel=True),
    Column("event_type", String(64), nullable=False),
    Column("category", String(16), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("priority_rank", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("retry_count", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime),
    Column("timestamp", UTCDateTime, nullable=False, index=True),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("aggregate_type", String(32), nullable=False),
    Column("aggregate_id", String(64), nullable=False),
    Column("data", JSON, nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("correlation_id", String(36), nullable=False, index=True),
    Column("causation_id", String(36)),
    Column("actor_id", BigInteger),
    Column("dedup_key", String(64), nullable=False),
    Column("duplicate_of", String(36)),
    Column("error", Text),
    # PostgreSQL: the writing transaction's id, set by the database (see migration 0003). NULL on SQLite.
    Column("txid", BigInteger),
    # Only rows with a transaction id (PostgreSQL's): SQLite's are NULL, read by `seq` (migration 0041).
    Index("ix_events_txid_seq", "txid", "seq", sqlite_where=text(HAS_TXID_SQL), postgresql_where=text(HAS_TXID_SQL)),
    Index("ix_events_event_type", "event_type", "seq"),  # `?type=`, newest first (migration 0029)
    Index("ix_events_aggregate", "aggregate_type", "aggregate_id", "seq"),
    # Low-cardinality columns (category, priority) get no index of their own: every insert would pay for it.
    # Only unfinished events are indexed by delivery state: most are written already `completed`.
    Index(
        "ix_events_unfinished",
        "aggregate_type",
        "aggregate_id",
        "seq",
        sqlite_where=text(UNFINISHED_SQL),
        postgresql_where=text(UNFINISHED_SQL),
    ),
    # AUTOINCREMENT: a position is never handed out twice, even after the newest events are deleted.
    sqlite_autoincrement=True,
)

handler_receipts = Table(
    "handler_receipts",
    metadata,
    Column("handler", String(100), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("handled_at", UTCDateTime, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # session | api
    Column("csrf_hash", String(64)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    # Where it was created and last used (`services/sessions.py`): an address and a browser-and-system label.
    Column("created_address", String(64)),
    Column("created_agent", String(80)),
    Column("last_used_at", UTCDateTime),
    Column("last_address", String(64)),
    Column("last_agent", String(80)),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("user_id", BigInteger, primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("ticket_id", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False, index=True),
)

rules = Table(
    "rules",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("position", Integer, nullable=False, default=0),
    Column("mode", String(16), nullable=False, default="enforce"),
    Column("rollout_percent", Integer, nullable=False, default=100),
    Column("conditions", JSON, nullable=False),
    Column("actions", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_rules_kind_active_position", "kind", "active", "position"),
)

# A token per configuration table, moved by a trigger on every write to it (migration 0043): a process's cache
# of configuration is checked by them (`store.config_cache`).
config_revisions = Table(
    "config_revisions",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("revision", BigInteger, nullable=False),
)

round_robin_counters = Table(
    "round_robin_counters",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", BigInteger, nullable=False, default=0),
    Column("updated_at", UTCDateTime, nullable=False),
)

sla_policies = Table(
    "sla_policies",
    metadata,
    Column("priority", String(16), primary_key=True),
    Column("first_response_minutes", Integer, nullable=False),
    Column("resolution_minutes", Integer, nullable=False),
    Column("warning_percent", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("calendar_id", BigInteger),  # business hours; none: the category's calendar, else 24/7
)

# Business-hours calendars (docs/architecture.md): versions are only added, so time already counted stays.
calendars = Table(
    "calendars",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

calendar_versions = Table(
    "calendar_versions",
    metadata,
    Column("calendar_id", ForeignKey("calendars.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("effective_from", UTCDateTime, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("hours", JSON, nullable=False),  # {"mon": [["09:00", "17:00"]], ...}
    Column("holidays", JSON, nullable=False),  # {"country": .., "subdivision": .., "dates": [...]}
    Column("ical_url", String(2000)),
    Column("closed", JSON),  # the feed's events when saved: [[start, end], ...] in UTC (RFC 3339)
    Column("created_at", UTCDateTime, nullable=False),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("email", String(254), nullable=False, index=True),
    Column("address", String(64), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    # What was attempted: `login` (a password checked) or `password_reset` (a reset link asked for).
    Column("purpose", String(16), nullable=False, server_default="login"),
)

# Password reset links: the token is kept only as a keyed hash; `token_sealed` (encrypted under the secret key)
# lives only until the link's mail has gone, so a mail that must be retried can still carry it.
password_resets = Table(
    "password_resets",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("token_sealed", Text),
    Column("notification_id", BigInteger, index=True),  # the mail carrying the link (a `notifications` row)
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Column("outcome", String(16)),  # NULL while usable | used | superseded | password_changed | deactivated
)

# Notifications: what the notification consumer made of events, one row per recipient and event.
notifications = Table(
    "notifications",
    metadata,
    Column("id", Id, primary_key=True),
    Column("recipient_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),  # assigned | comments | status | approvals | sla | rules
    Column("ticket_id", ForeignKey("tickets.id", ondelete="CASCADE"), index=True),
    Column("event_id", String(36), nullable=False),  # the event that caused it
    Column("event_type", String(64), nullable=False),
    Column("rule_id", BigInteger),
    Column("reason", String(300), nullable=False),  # why this recipient was told
    Column("title", String(300), nullable=False),  # in English: what a row without a key shows
    Column("title_key", String(300)),  # the title's message id and its values, rendered for each reader
    Column("title_params", JSON),
    Column("body", Text, nullable=False),
    Column("change", JSON),  # {"field", "old", "new"}: lets a change undone in the holding window cancel its mail
    Column("in_app", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("read_at", UTCDateTime),
    # Email: NULL (none) | pending | sending | sent | failed | cancelled | digest (waits for the digest)
    Column("email_status", String(16)),
    Column("send_after", UTCDateTime),
    Column("attempts", Integer, nullable=False, default=0),
    Column("claim_id", String(36)),
    Column("claimed_at", UTCDateTime),
    Column("message_id", String(255)),
    Column("sent_at", UTCDateTime),
    Column("last_error", Text),
    UniqueConstraint("event_id", "recipient_id", name="uq_notifications_event_recipient"),
    Index("ix_notifications_recipient_id", "recipient_id", "in_app", "id"),
    # The unread ones, newest first, and the bell's count (migration 0029): as many as are unread, not all.
    Index(
        "ix_notifications_unread",
        "recipient_id",
        "in_app",
        "id",
        sqlite_where=text("read_at IS NULL"),
        postgresql_where=text("read_at IS NULL"),
    ),
    Index("ix_notifications_email_due", "email_status", "send_after"),
    Index("ix_notifications_message_id", "message_id"),  # a reply to a mail finds its ticket
)

ticket_watchers = Table(
    "ticket_watchers",
    metadata,
    Column("ticket_id", ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
    Column("added_by", BigInteger),
    Column("created_at", UTCDateTime, nullable=False),
)

notification_preferences = Table(
    "notification_preferences",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("email", JSON, nullable=False),  # kind -> bool
    Column("in_app", JSON, nullable=False),
    Column("digest", String(8), nullable=False),  # off | hourly | daily
    Column("last_digest_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Email in: files on tickets and comments (kept in the database, so scale-out needs no shared disk), every
# message received (the full message kept), and addresses that bounce.
attachments = Table(
    "attachments",
    metadata,
    Column("id", Id, primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("comment_id", ForeignKey("comments.id", ondelete="CASCADE"), index=True),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(127), nullable=False),  # sniffed from the content, never the client's word
    Column("size", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("content_id", String(255)),  # an inline image of an HTML mail (`cid:`)
    Column("uploaded_by", ForeignKey("users.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

inbound_mail = Table(
    "inbound_mail",
    metadata,
    Column("id", Id, primary_key=True),
    Column("message_id", String(255), nullable=False),
    Column("sender", String(254), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("ticket_id", ForeignKey("tickets.id", ondelete="SET NULL"), index=True),
    Column("comment_id", ForeignKey("comments.id", ondelete="SET NULL")),
    Column("outcome", String(16), nullable=False),  # ticket | comment | held | dropped | bounce
    Column("method", String(16)),  # subject_tag | in_reply_to | references | new
    Column("reason", String(300)),  # why it was suppressed or dropped
    Column("auto", Boolean, nullable=False),  # automatic mail: never notified back
    Column("html", Text),  # the HTML part, sanitised
    Column("raw", LargeBinary, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    UniqueConstraint("message_id", name="uq_inbound_mail_message_id"),
    Index("ix_inbound_mail_sender", "sender", "received_at"),
)

# Mail the intake could not store: held with its bytes and the error until an admin retries or discards it. The
# same bytes are held once at a time (the partial unique index), however often they arrive.
HELD_SQL = "state = 'held'"
mail_quarantine = Table(
    "mail_quarantine",
    metadata,
    Column("id", Id, primary_key=True),
    Column("source", String(8), nullable=False),  # pipe | imap
    Column("digest", String(64), nullable=False),  # SHA-256 of the bytes
    Column("message_id", String(255)),  # as parsed, when the message could be parsed
    Column("sender", String(254)),
    Column("subject", String(300)),
    Column("size", Integer, nullable=False),
    Column("raw", LargeBinary),  # dropped when discarded
    Column("error_type", String(100), nullable=False),
    Column("error", String(1000), nullable=False),  # the exception's first line, never a traceback
    Column("state", String(16), nullable=False),  # held | retried | discarded
    Column("attempts", Integer, nullable=False),  # deliveries and retries that failed
    Column("outcome", String(16)),  # what the successful retry became (ticket, comment, duplicate, ...)
    Column("inbound_id", ForeignKey("inbound_mail.id", ondelete="SET NULL")),
    Column("ticket_id", ForeignKey("tickets.id", ondelete="SET NULL")),
    Column("quarantined_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(
        "ux_mail_quarantine_held", "digest", unique=True, sqlite_where=text(HELD_SQL), postgresql_where=text(HELD_SQL)
    ),
    Index("ix_mail_quarantine_state", "state", "id"),
)

email_bounces = Table(
    "email_bounces",
    metadata,
    Column("address", String(254), primary_key=True),
    Column("reason", String(300), nullable=False),
    Column("since", UTCDateTime, nullable=False),
)

# Webhooks: subscriptions are cursors over the log (`cursor_txid`, `cursor_seq`: what has been fanned out), each
# with its own table of deliveries (one per subscription and event) and the attempts made for each.
UNFINISHED_DELIVERY_SQL = "status IN ('pending', 'retrying')"

# A mailbox NixFlow signs in to with OAuth2 (XOAUTH2/OAUTHBEARER) instead of a password: `address` is the user
# of NIXFLOW_IMAP_URL / NIXFLOW_SMTP_URL given without a password. Secrets encrypted under NIXFLOW_SECRET_KEY.
mail_oauth_mailboxes = Table(
    "mail_oauth_mailboxes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("address", String(254), nullable=False, unique=True),
    Column("provider", String(16), nullable=False),  # microsoft | google | custom
    Column("authorization_endpoint", String(2000), nullable=False),
    Column("token_endpoint", String(2000), nullable=False),
    Column("scopes", String(1000), nullable=False),
    Column("client_id", String(500), nullable=False),
    Column("client_secret", Text),  # encrypted; null for a public client
    Column("status", String(16), nullable=False),  # not_connected | connected | paused
    Column("refresh_token", Text),  # encrypted
    Column("grant_version", Integer, nullable=False),  # +1 at each connection: a pause names the grant it ends
    Column("connected_at", UTCDateTime),
    Column("paused_at", UTCDateTime),
    Column("paused_reason", String(300)),
    # The consent screen an admin was sent to: the state's hash, the PKCE verifier (encrypted), who, until when.
    Column("pending_state", String(64)),
    Column("pending_verifier", Text),
    Column("pending_by", BigInteger),
    Column("pending_until", UTCDateTime),
    Column("created_by", BigInteger),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Id, primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("event_types", JSON, nullable=False),  # exact types, "<category>.*" or "*"
    Column("category_id", ForeignKey("categories.id", ondelete="SET NULL")),
    Column("mode", String(8), nullable=False),  # active | paused | shadow
    Column("description", String(500), nullable=False),
    Column("secret", Text, nullable=False),  # encrypted under NIXFLOW_SECRET_KEY
    Column("previous_secret", Text),  # still signs until previous_secret_until (rotation overlap)
    Column("previous_secret_until", UTCDateTime),
    Column("cursor_txid", BigInteger, nullable=False),
    Column("cursor_seq", BigInteger, nullable=False),
    Column("failing_since", UTCDateTime),  # first failed attempt since the last success
    Column("disabled_at", UTCDateTime),
    Column("disabled_reason", String(300)),
    Column("created_by", BigInteger),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True),
    Column("webhook_id", ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", String(36), nullable=False),  # also the webhook-id header: stable across retries
    Column("event_type", String(64), nullable=False),
    Column("event_seq", BigInteger, nullable=False),
    Column("aggregate_type", String(32), nullable=False),
    Column("aggregate_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # pending | retrying | succeeded | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime),
    Column("claim_id", String(36)),  # a deliverer's lease, from claimed_at
    Column("claimed_at", UTCDateTime),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("delivered_at", UTCDateTime),
    Column("shadow", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("webhook_id", "event_id", name="uq_webhook_deliveries_webhook_event"),
    Index("ix_webhook_deliveries_webhook_id", "webhook_id", "id"),
    Index("ix_webhook_deliveries_created_at", "created_at"),  # housekeeping's retention
    # Only unfinished deliveries are indexed for the deliverer: what is due, and each aggregate's head.
    Index(
        "ix_webhook_deliveries_unfinished",
        "webhook_id",
        "aggregate_type",
        "aggregate_id",
        "event_seq",
        sqlite_where=text(UNFINISHED_DELIVERY_SQL),
        postgresql_where=text(UNFINISHED_DELIVERY_SQL),
    ),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("delivery_id", ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("status_code", Integer),
    Column("latency_ms", Integer),
    Column("response_excerpt", Text),
    Column("error", Text),
    Index("ix_webhook_attempts_delivery_id", "delivery_id", "id"),
)

# Knowledge base: articles, every saved version of each, their tags, and the tickets they came from or solved.
kb_articles = Table(
    "kb_articles",
    metadata,
    Column("id", Id, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),  # Markdown
    Column("body_html", Text, nullable=False),  # rendered and sanitised
    Column("status", String(16), nullable=False),  # draft | published | archived
    Column("visibility", String(16), nullable=False),  # public | requesters | internal
    Column("category_id", ForeignKey("categories.id"), index=True),
    Column("tags", JSON, nullable=False),  # in the writer's order; kb_article_tags indexes them for filtering
    Column("version", Integer, nullable=False),
    Column("author_id", ForeignKey("users.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("language", String(8), nullable=False, server_default="en"),  # en | de | fr | es | ar
    # The article it translates (its own id for an original): translations of one article, one per language.
    Column("group_id", BigInteger),
    Index("ix_kb_articles_status_visibility", "status", "visibility"),
    Index("ux_kb_articles_group_language", "group_id", "language", unique=True),
    # PostgreSQL adds a generated `search` tsvector with a GIN index (migration 0008); SQLite has `kb_search` (FTS5).
)

kb_article_versions = Table(
    "kb_article_versions",
    metadata,
    Column("article_id", ForeignKey("kb_articles.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("visibility", String(16), nullable=False),
    Column("category_id", BigInteger),
    Column("tags", JSON, nullable=False),
    Column("author_id", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("restored_from", Integer),
)

kb_article_tags = Table(
    "kb_article_tags",
    metadata,
    Column("article_id", ForeignKey("kb_articles.id", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(50), primary_key=True, index=True),
)

kb_article_tickets = Table(
    "kb_article_tickets",
    metadata,
    Column("article_id", ForeignKey("kb_articles.id", ondelete="CASCADE"), primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True, index=True),
    Column("relation", String(16), primary_key=True),  # source (written from it) | resolved (it solved it)
    Column("created_at", UTCDateTime, nullable=False),
)

# Tables the search index keeps outside this metadata (SQLite's FTS5 table and its shadow tables).
UNMANAGED_PREFIXES = ("kb_search", "ticket_search")


def managed(name: str | None, type_: str, _parent_names: object) -> bool:
    """Whether a schema object is described here (Alembic `include_name`): FTS5's tables are not."""
    return not (type_ == "table" and name is not None and name.startswith(UNMANAGED_PREFIXES))


# Report read models (docs/metrics.md): derived from the event log by `reports.project`, rebuildable from it,
# so they hold no foreign keys.
report_tickets = Table(
    "report_tickets",
    metadata,
    Column("ticket_id", Id, primary_key=True, autoincrement=False),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("category_id", BigInteger),
    Column("priority", String(16), nullable=False),
    Column("assignee_id", BigInteger),
    Column("first_reply_at", UTCDateTime, index=True),
    Column("first_reply_by", BigInteger),
    Column("resolved_at", UTCDateTime, index=True),  # the last resolve; null while not resolved
    Column("reopens", Integer, nullable=False),
    # The durations, in microseconds, set with their instants (migration 0030): a period's median is a sort.
    Column("first_reply_us", BigInteger),
    Column("resolution_us", BigInteger),
)

# Each stretch a ticket spends in the backlog: from creation (spell 0) or its n-th reopen to its resolve.
report_spells = Table(
    "report_spells",
    metadata,
    Column("ticket_id", Id, primary_key=True, autoincrement=False),
    Column("spell", Integer, primary_key=True, autoincrement=False),
    Column("opened_at", UTCDateTime, nullable=False, index=True),
    Column("solved_at", UTCDateTime, index=True),
    # The resolves after a reopen (migration 0030): what "tickets solved" (distinct) subtracts from resolves.
    Index(
        "ix_report_spells_solved_again", "solved_at", sqlite_where=text("spell > 0"), postgresql_where=text("spell > 0")
    ),
)

report_sla = Table(
    "report_sla",
    metadata,
    Column("ticket_id", Id, primary_key=True, autoincrement=False),
    Column("target", String(16), primary_key=True),
    Column("outcome", String(8), nullable=False),  # met | breached
    Column("due_at", UTCDateTime, nullable=False),
    Column("at", UTCDateTime, nullable=False, index=True),
)

report_staff = Table(
    "report_staff",
    metadata,
    Column("user_id", Id, primary_key=True, autoincrement=False),
    Column("role", String(16), nullable=False),
)

# When a staff user last looked at a ticket: the newest event of it they had seen (its log position).
ticket_reads = Table(
    "ticket_reads",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
    Column("seen_seq", BigInteger, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
)

# A ticket's tags once more, one row each, for the queue's `?tag=` filter and the counts (migration 0018).
ticket_tags = Table(
    "ticket_tags",
    metadata,
    Column("ticket_id", ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(40), primary_key=True),
    Index("ix_ticket_tags_tag", "tag", "ticket_id"),
)

# When it has rows, the only tags agents and rules may put on tickets.
tag_allow_list = Table(
    "tag_allow_list",
    metadata,
    Column("tag", String(40), primary_key=True),
)

# Organizations (migration 0022): `name_key` is the lower-cased name, unique regardless of case.
organizations = Table(
    "organizations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(120), nullable=False),
    Column("name_key", String(120), nullable=False, unique=True),
    Column("shares_tickets", Boolean, nullable=False, server_default=text("false")),
    Column("fields", JSON, nullable=False, server_default=text("'{}'")),  # custom field values (0025)
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# A mail domain belongs to at most one organization: a new sender from it becomes a member.
organization_domains = Table(
    "organization_domains",
    metadata,
    Column("domain", String(253), primary_key=True),
    Column("organization_id", ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False),
    Index("ix_organization_domains_org", "organization_id"),
)

organization_members = Table(
    "organization_members",
    metadata,
    Column("organization_id", ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_organization_members_user", "user_id", "organization_id"),
)

# An organization's own SLA targets for a priority (its tickets'); the calendar stays the priority policy's.
organization_sla_policies = Table(
    "organization_sla_policies",
    metadata,
    Column("organization_id", ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True),
    Column("priority", String(16), primary_key=True),
    Column("first_response_minutes", Integer, nullable=False),
    Column("resolution_minutes", Integer, nullable=False),
    Column("warning_percent", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Custom fields (migration 0021): admins' definitions, and ticket values once more, one row per value (a multi
# select: per option), indexed by key and value for the queue's `?field=` filter.
field_definitions = Table(
    "field_definitions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("entity", String(16), nullable=False),
    Column("key", String(40), nullable=False),
    Column("label", String(100), nullable=False),
    Column("type", String(16), nullable=False),
    Column("options", JSON, nullable=False),
    Column("required_for_requesters", Boolean, nullable=False),
    Column("required_for_agents", Boolean, nullable=False),
    Column("requester_visible", Boolean, nullable=False),
    Column("position", Integer, nullable=False),
    Column("minimum", Float),
    Column("maximum", Float),
    Column("max_length", Integer),
    Column("archived_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("entity", "key", name="uq_field_definitions_entity_key"),
)

ticket_field_values = Table(
    "ticket_field_values",
    metadata,
    Column("ticket_id", ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(40), nullable=False),
    Column("value_text", String(500)),  # text, date, option, "true"/"false"
    Column("value_num", Float),  # numbers
    Index("ix_ticket_field_values_text", "key", "value_text", "ticket_id"),
    Index("ix_ticket_field_values_num", "key", "value_num", "ticket_id"),
    Index("ix_ticket_field_values_ticket", "ticket_id", "key"),
)

SYSTEM_USER_ID = 0

# Canned replies and macros (migration 0020): a reply is `body` alone; a macro an optional `body` (a public reply
# or an `internal` note) and `actions` (the changes it makes). Seen by its owner (personal), the agents of
# `category_id` (team), or every agent (everyone).
macros = Table(
    "macros",
    metadata,
    Column("id", Id, primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("name", String(100), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("owner_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("category_id", ForeignKey("categories.id", ondelete="CASCADE")),
    Column("body", Text),
    Column("internal", Boolean, nullable=False),
    Column("actions", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_macros_kind_name", "kind", "name"),
)


# Saved views (migration 0023): a named queue filter + sort + columns; `scope` personal (the owner's), team (the
# agents of `category_id`) or everyone.
saved_views = Table(
    "saved_views",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("owner_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("scope", String(10), nullable=False),
    Column("category_id", ForeignKey("categories.id", ondelete="CASCADE")),
    Column("filters", JSON, nullable=False),
    Column("sort", String(40), nullable=False),
    Column("columns", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_saved_views_owner", "owner_id"),
    Index("ix_saved_views_scope", "scope", "category_id"),
)

# Links between tickets (migration 0026): `from_id` is the parent (`parent`), the duplicate (`duplicate`), or the
# lower id of a `related` pair, so each link is one row whichever side asked for it.
ticket_links = Table(
    "ticket_links",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("from_id", ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
    Column("to_id", ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("created_by", Id, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("from_id", "to_id", "kind", name="uq_ticket_links"),
    Index("ix_ticket_links_to", "to_id"),
)

# One row (id 1) when an admin set it: whether a parent may be resolved or closed while a child is open.
ticket_link_options = Table(
    "ticket_link_options",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("block_parent_close", Boolean, nullable=False),
)

# Satisfaction (migration 0028): a ticket's one survey answer, by its requester. Who solved it, its category and
# organization are those of the ticket when it was first answered, so a report does not move when it is reassigned.
csat_answers = Table(
    "csat_answers",
    metadata,
    Column("ticket_id", ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
    Column("requester_id", ForeignKey("users.id"), nullable=False),
    Column("rating", String(4), nullable=False),
    Column("comment", Text),
    Column("answered_at", UTCDateTime, nullable=False),
    Column("changed_at", UTCDateTime),
    Column("assignee_id", Id),
    Column("category_id", Id),
    Column("organization_id", Id),
    Index("ix_csat_answers_answered_at", "answered_at"),
)

# Time entries (migration 0028): minutes an agent spent on a ticket; staff only.
time_entries = Table(
    "time_entries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("ticket_id", ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("agent_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("minutes", Integer, nullable=False),
    Column("billable", Boolean, nullable=False),
    Column("note", String(500), nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Approval workflows (migration 0027): admins' definitions, one run per ticket at a time, and who stands in for whom.
workflows = Table(
    "workflows",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("definition", JSON, nullable=False),  # steps, on_approved, on_rejected (domain/workflows.py)
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

workflow_runs = Table(
    "workflow_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("ticket_id", ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
    Column("workflow_id", BigInteger, nullable=False),
    Column("name", String(100), nullable=False),
    Column("definition", JSON, nullable=False),  # the definition as it was when the run started
    Column("status", String(10), nullable=False),  # running | approved | rejected | expired
    Column("step", Integer, nullable=False),
    Column("approver_ids", JSON, nullable=False),  # the current step's approvers, resolved when it began
    Column("decisions", JSON, nullable=False),  # every decision of every step, in order
    Column("step_due_at", UTCDateTime),  # the current step's deadline; null: none, or passed and escalated
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Index("ix_workflow_runs_ticket", "ticket_id"),
    Index("ix_workflow_runs_due", "step_due_at"),
)

workflow_delegations = Table(
    "workflow_delegations",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("delegate_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
)

# Counters kept by triggers in the writing transaction (migration 0030: why triggers, and the shards). A key that
# cannot be NULL stands for "none" with -1 (`NULL_ID`). Rows may hold 0 or be split over shards: always SUM.
NULL_ID = -1
event_counts = Table(
    "event_counts",
    metadata,
    Column("hour", BigInteger, primary_key=True),  # hours since the Unix epoch, UTC
    Column("event_type", String(64), primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("priority", String(16), primary_key=True),
    Column("shard", SmallInteger, primary_key=True),
    Column("n", BigInteger, nullable=False),
)
ticket_counts = Table(
    "ticket_counts",
    metadata,
    Column("status", String(16), primary_key=True),
    Column("priority", String(16), primary_key=True),
    Column("category_id", BigInteger, primary_key=True),
    Column("assignee_id", BigInteger, primary_key=True),
    Column("shard", SmallInteger, primary_key=True),
    Column("n", BigInteger, nullable=False),
)

# The report facts per UTC day (days since the epoch) and current category, assignee, priority: kept by
# `reports.project` (`reports/daily.py`), rebuilt with the other report tables (migration 0030).
REPORT_DAY_MEASURES = (
    "created", "opened", "solved", "reopens",
    "first_response_met", "first_response_breached", "resolution_met", "resolution_breached",
)  # fmt: skip
report_days = Table(
    "report_days",
    metadata,
    Column("day", BigInteger, primary_key=True),
    Column("category_id", BigInteger, primary_key=True),  # NULL_ID: none
    Column("assignee_id", BigInteger, primary_key=True),  # NULL_ID: unassigned
    Column("priority", String(16), primary_key=True),
    *(Column(name, BigInteger, nullable=False, default=0) for name in REPORT_DAY_MEASURES),
)

# Passkeys (WebAuthn, migration 0033): each user's credentials (the public key only: the private key never leaves
# the authenticator), the random handle authenticators know the user by, and the challenges handed out, each
# usable once until it expires.
passkey_users = Table(
    "passkey_users",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("handle", String(128), nullable=False, unique=True),  # base64url of 32 random bytes
)
passkeys = Table(
    "passkeys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("credential_id", String(1400), nullable=False, unique=True),  # base64url, at most 1023 bytes
    Column("public_key", LargeBinary, nullable=False),  # COSE_Key
    Column("sign_count", BigInteger, nullable=False),
    Column("transports", JSON, nullable=False),
    Column("name", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
)
passkey_challenges = Table(
    "passkey_challenges",
    metadata,
    Column("challenge", String(128), primary_key=True),  # base64url
    Column("purpose", String(16), nullable=False),  # register | sign_in | second_factor
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE")),  # NULL for a passwordless sign-in
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)
# Single sign-on (migration 0031): the providers admins configure (`config` is its kind's model in
# `domain/identity.py`, secrets encrypted under NIXFLOW_SECRET_KEY) and which user a provider's subject is.
identity_providers = Table(
    "identity_providers",
    metadata,
    Column("id", Id, primary_key=True),
    Column("kind", String(16), nullable=False),  # oidc | saml | ldap
    Column("slug", String(40), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("config", JSON, nullable=False),
    Column("role_mapping", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
user_identities = Table(
    "user_identities",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("provider_id", Id, ForeignKey("identity_providers.id", ondelete="CASCADE"), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_sign_in_at", UTCDateTime),
    UniqueConstraint("provider_id", "subject", name="uq_user_identities_subject"),
    Index("ix_user_identities_user", "user_id"),
)
# A sign-in started at a provider and not yet back: taken (deleted) once by its callback, so a `state` is
# good for one answer; rows past `expires_at` are dropped whenever a sign-in starts.
sign_in_requests = Table(
    "sign_in_requests",
    metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("provider_id", Id, ForeignKey("identity_providers.id", ondelete="CASCADE"), nullable=False),
    Column("secrets", Text, nullable=False),  # encrypted JSON
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

# Local passwords turned off per role (migration 0035): a row per role whose people must sign in through a
# directory or single sign-on; the admins marked break-glass keep their local password whatever the policy.
local_passwords_off = Table(
    "local_passwords_off",
    metadata,
    Column("role", String(16), primary_key=True),
    Column("since", UTCDateTime, nullable=False),
)
break_glass_admins = Table(
    "break_glass_admins",
    metadata,
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("marked_at", UTCDateTime, nullable=False),
)
# Second factor (migration 0032). The TOTP secret is stored encrypted under the secret key; `confirmed_at` is NULL
# while an enrolment waits for its first code; `last_step` is the newest time step accepted (no replay).
mfa_totp = Table(
    "mfa_totp",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("secret_sealed", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("confirmed_at", UTCDateTime),
    Column("last_step", BigInteger),
)
# Single-use recovery codes, kept only as keyed hashes.
mfa_recovery_codes = Table(
    "mfa_recovery_codes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("used_at", UTCDateTime),
)
# A sign-in waiting for its second factor (`verify`) or for the enrolment its role requires (`enrol`): its token
# (a keyed hash here) opens only `/api/auth/mfa/*`; `method` and `email` are the first step's, for the session.
mfa_challenges = Table(
    "mfa_challenges",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("purpose", String(8), nullable=False),  # verify | enrol
    Column("method", String(16), nullable=False),
    Column("email", String(254)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
)
# One row: the roles that must have a second factor, and how long a device may be remembered (0: never).
mfa_policy = Table(
    "mfa_policy",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("required_roles", JSON, nullable=False),
    Column("remember_device_days", Integer, nullable=False),
    Column("updated_at", UTCDateTime),
)

# SAML: the service provider's key pair, made once (its private key encrypted with the keyring), and the sign-ins
# sent to an IdP and not answered yet, each answerable once (migration 0034, `services/saml.py`).
saml_sp_keys = Table(
    "saml_sp_keys",
    metadata,
    Column("id", SmallInteger, primary_key=True),  # always 1: one key pair for every SAML provider
    Column("certificate", Text, nullable=False),
    Column("private_key", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
saml_requests = Table(
    "saml_requests",
    metadata,
    Column("request_id", String(100), primary_key=True),
    Column("provider_id", Id, ForeignKey("identity_providers.id", ondelete="CASCADE"), nullable=False),
    Column("next_path", String(500), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)
