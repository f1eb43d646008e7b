"""default automation rules

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import nixflow.store.tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Minutes unassigned before level 1, and unresolved before level 2, by priority.
ESCALATION_MINUTES = (("critical", 15, 60), ("high", 60, 240), ("normal", 240, 1440), ("low", 480, 2880))


def default_rules() -> list[dict[str, Any]]:
    """The rules a fresh database holds (rule format v1)."""
    rules: list[dict[str, Any]] = [
        {
            "name": "urgent is high",
            "kind": "prioritization",
            "position": 10,
            "conditions": {
                "all": [{"field": "priority", "op": "in", "value": ["low", "normal"]}],
                "any": [{"field": "text", "op": "contains", "value": "urgent"}],
            },
            "actions": [{"type": "set_priority", "value": "high"}],
        },
        {
            "name": "outage or down is critical",
            "kind": "prioritization",
            "position": 20,
            "conditions": {
                "all": [{"field": "priority", "op": "not_equals", "value": "critical"}],
                "any": [{"field": "text", "op": "contains_word", "value": ["outage", "down"]}],
            },
            "actions": [{"type": "set_priority", "value": "critical"}],
        },
        {
            "name": "round-robin within the category",
            "kind": "assignment",
            "position": 100,
            "conditions": {
                "all": [
                    {"field": "assignee_id", "op": "is_null", "value": True},
                    {"field": "category_id", "op": "is_null", "value": False},
                    {"field": "status", "op": "in", "value": ["new", "open"]},
                ]
            },
            "actions": [{"type": "assign_round_robin"}],
        },
    ]
    position = 200
    for priority, unassigned, unresolved in ESCALATION_MINUTES:
        for level, field, minutes, extra in (
            (1, "minutes_unassigned", unassigned, "unassigned"),
            (2, "minutes_open", unresolved, "unresolved"),
        ):
            rules.append(
                {
                    "name": f"{priority}: {extra} {minutes} min is level {level}",
                    "kind": "escalation",
                    "position": position,
                    "conditions": {
                        "all": [
                            {"field": "priority", "op": "equals", "value": priority},
                            {"field": field, "op": "gte", "value": minutes},
                        ]
                    },
                    "actions": [{"type": "escalate", "level": level}, {"type": "notify", "role": "admin"}],
                }
            )
            position += 10
    return rules


def upgrade() -> None:
    now = datetime.now(UTC)
    table = sa.table(
        "rules",
        sa.column("name"),
        sa.column("kind"),
        sa.column("active"),
        sa.column("position"),
        sa.column("mode"),
        sa.column("rollout_percent"),
        sa.column("conditions", sa.JSON()),
        sa.column("actions", sa.JSON()),
        sa.column("created_at", nixflow.store.tables.UTCDateTime()),
        sa.column("updated_at", nixflow.store.tables.UTCDateTime()),
    )
    op.bulk_insert(
        table,
        [
            {"active": True, "mode": "enforce", "rollout_percent": 100, "created_at": now, "updated_at": now, **rule}
            for rule in default_rules()
        ],
    )


def downgrade() -> None:
    names = [rule["name"] for rule in default_rules()]
    table = sa.table("rules", sa.column("name"))
    op.execute(table.delete().where(table.c.name.in_(names)))
