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
    ForeignKey,
    Index,
    Integer,
    MetaData,
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
)

categories = Table(
    "categories",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)

category_agents = Table(
    "category_agents",
    metadata,
    Column("category_id", ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", Id, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("category_id", ForeignKey("categories.id"), index=True),
    Column("requester_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("assignee_id", ForeignKey("users.id"), index=True),
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
    # The next instant a time-based job may have work for this ticket (NULL: none).
    Column("next_check_at", UTCDateTime, index=True),
    Index("ix_tickets_status_priority", "status", "priority"),
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
)

# The delivery states that are not final, as SQL (literal, so SQLite can match its partial index).
UNFINISHED_SQL = "status IN ('pending', 'processing', 'retrying')"

events = Table(
    "events",
    metadata,
    # `seq` orders the log; `event_id` (UUIDv7) is the public id.
    Column("seq", Id, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("event_type", String(64), nullable=False, index=True),
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
    Index("ix_events_txid_seq", "txid", "seq"),
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
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("email", String(254), nullable=False, index=True),
    Column("address", String(64), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False, index=True),
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
    Column("title", String(300), nullable=False),
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
    Index("ix_notifications_email_due", "email_status", "send_after"),
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
)

# Each stretch a ticket spends in the backlog: from creation (spell 0) or its n-th reopen to its resolve.
report_spells = Table(
    "report_spells",
    metadata,
    Column("ticket_id", Id, primary_key=True, autoincrement=False),
    Column("spell", Integer, primary_key=True, autoincrement=False),
    Column("opened_at", UTCDateTime, nullable=False, index=True),
    Column("solved_at", UTCDateTime, index=True),
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

SYSTEM_USER_ID = 0
