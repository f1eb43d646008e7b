"""initial schema

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import nixflow.store.tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "categories",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", nixflow.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("priority_rank", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("retry_count", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", nixflow.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("timestamp", nixflow.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", nixflow.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("aggregate_type", sa.String(length=32), nullable=False),
        sa.Column("aggregate_id", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("correlation_id", sa.String(length=36), nullable=False),
        sa.Column("causation_id", sa.String(length=36), nullable=True),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("dedup_key", sa.String(length=64), nullable=False),
        sa.Column("duplicate_of", sa.String(length=36), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("event_id"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_aggregate", ["aggregate_type", "aggregate_id", "seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_correlation_id"), ["correlation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_event_type"), ["event_type"], unique=False)
        batch_op.create_index("ix_events_status_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_timestamp"), ["timestamp"], unique=False)

    op.create_table(
        "handler_receipts",
        sa.Column("handler", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("handled_at", nixflow.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("handler", "event_id"),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", nixflow.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key"),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotency_keys_created_at"), ["created_at"], unique=False)

    op.create_table(
        "login_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", nixflow.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_attempts_address"), ["address"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_attempts_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_attempts_email"), ["email"], unique=False)

    op.create_table(
        "round_robin_counters",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", nixflow.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "rules",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("rollout_percent", sa.Integer(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("created_at", nixflow.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", nixflow.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rules", schema=None) as batch_op:
        batch_op.create_index("ix_rules_kind_active_position", ["kind", "active", "position"], unique=False)

    op.create_table(
        "sla_policies",
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column("warning_percent", sa.Integer(), nullable=False),
        sa.Column("updated_at", nixflow.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("priority"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("can_approve", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("created_at", nixflow.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", nixflow.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("csrf_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", nixflow.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", nixflow.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", nixflow.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "category_agents",
        sa.Column("category_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["category_id"], ["categories.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("category_id", "user_id"),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("category_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("requester_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("assignee_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("approval", sa.String(length=16), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", nixflow.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", nixflow.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", nixflow.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_response_due", nixflow.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolution_due", nixflow.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_response_at", nixflow.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sla_paused_since", nixflow.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sla_paused_seconds", sa.Integer(), nullable=False),
        sa.Column("sla_state", sa.JSON(), nullable=False),
        sa.Column("next_check_at", nixflow.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tickets_assignee_id"), ["assignee_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_category_id"), ["category_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_next_check_at"), ["next_check_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_requester_id"), ["requester_id"], unique=False)
        batch_op.create_index("ix_tickets_status_priority", ["status", "priority"], unique=False)

    op.create_table(
        "comments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("author_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("created_at", nixflow.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_comments_ticket_id"), ["ticket_id"], unique=False)

    _seed()


def _seed() -> None:
    """The system user (id 0, acts for automation, cannot log in) and an SLA policy per priority."""
    now = datetime.now(UTC)
    users = sa.table(
        "users",
        sa.column("id"),
        sa.column("email"),
        sa.column("name"),
        sa.column("role"),
        sa.column("active"),
        sa.column("can_approve"),
        sa.column("password_hash"),
        sa.column("created_at"),
        sa.column("updated_at"),
    )
    op.bulk_insert(
        users,
        [
            {
                "id": 0,
                "email": "system@nixflow.invalid",
                "name": "NixFlow automation",
                "role": "system",
                "active": True,
                "can_approve": False,
                "password_hash": None,
                "created_at": now,
                "updated_at": now,
            }
        ],
    )
    policies = sa.table(
        "sla_policies",
        sa.column("priority"),
        sa.column("first_response_minutes"),
        sa.column("resolution_minutes"),
        sa.column("warning_percent"),
        sa.column("updated_at"),
    )
    op.bulk_insert(
        policies,
        [
            {
                "priority": p,
                "first_response_minutes": fr,
                "resolution_minutes": res,
                "warning_percent": 80,
                "updated_at": now,
            }
            for p, fr, res in (("critical", 15, 240), ("high", 60, 480), ("normal", 240, 1440), ("low", 480, 2880))
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comments_ticket_id"))

    op.drop_table("comments")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_status_priority")
        batch_op.drop_index(batch_op.f("ix_tickets_requester_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_next_check_at"))
        batch_op.drop_index(batch_op.f("ix_tickets_category_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_assignee_id"))

    op.drop_table("tickets")
    op.drop_table("category_agents")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("sla_policies")
    with op.batch_alter_table("rules", schema=None) as batch_op:
        batch_op.drop_index("ix_rules_kind_active_position")

    op.drop_table("rules")
    op.drop_table("round_robin_counters")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_attempts_email"))
        batch_op.drop_index(batch_op.f("ix_login_attempts_at"))
        batch_op.drop_index(batch_op.f("ix_login_attempts_address"))

    op.drop_table("login_attempts")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_created_at"))

    op.drop_table("idempotency_keys")
    op.drop_table("handler_receipts")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_timestamp"))
        batch_op.drop_index("ix_events_status_due")
        batch_op.drop_index(batch_op.f("ix_events_event_type"))
        batch_op.drop_index(batch_op.f("ix_events_correlation_id"))
        batch_op.drop_index("ix_events_aggregate")

    op.drop_table("events")
    op.drop_table("categories")
