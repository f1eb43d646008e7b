"""configuration revisions: a token per configuration table, moved by a trigger on every write to it

Processes cache configuration (rules, categories and their agents, SLA policies, calendars, field definitions)
and check the tokens once per unit of work (`store.config_cache`). A trigger moves a table's token whatever
writes it (a service, the CLI, another process, SQL by hand), in the writing transaction. The token is never
reused, not even after a rollback (a sequence from a random start on PostgreSQL, a random 64-bit number on SQLite),
so a value that was cached with a token seen inside a transaction that then rolled back can never match a
committed one, nor can a database made again at the same address repeat the tokens of the one before.
Replaces `rule_revision` (0015), which counted up by hand in the rules service.

Revision ID: 0043
Revises: 0042
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None

TRACKED = (
    "rules",
    "categories",
    "category_agents",
    "sla_policies",
    "organization_sla_policies",
    "calendars",
    "calendar_versions",
    "field_definitions",
)


def upgrade() -> None:
    table = op.create_table(
        "config_revisions",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("revision", sa.BigInteger(), nullable=False),
    )
    # Random starts: a database made again at the same address (a test's, a restore's) does not repeat the
    # tokens of the one before, which a process may still hold values for.
    op.bulk_insert(table, [{"name": name, "revision": secrets.randbelow(2**62)} for name in TRACKED])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE SEQUENCE config_revision_tokens START {secrets.randbelow(2**62)}")
        op.execute(
            "CREATE FUNCTION bump_config_revision() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "UPDATE config_revisions SET revision = nextval('config_revision_tokens') WHERE name = TG_TABLE_NAME; "
            "RETURN NULL; END $$"
        )
        for name in TRACKED:
            op.execute(
                f"CREATE TRIGGER config_revision_{name} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {name} "
                "FOR EACH STATEMENT EXECUTE FUNCTION bump_config_revision()"
            )
    else:
        for name in TRACKED:
            for verb in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER config_revision_{name}_{verb.lower()} AFTER {verb} ON {name} BEGIN "
                    f"UPDATE config_revisions SET revision = random() WHERE name = '{name}'; END"
                )
    op.drop_table("rule_revision")


def downgrade() -> None:
    table = op.create_table(
        "rule_revision",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("revision", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(table, [{"id": 1, "revision": 0}])
    postgres = op.get_bind().dialect.name == "postgresql"
    for name in TRACKED:
        if postgres:
            op.execute(f"DROP TRIGGER config_revision_{name} ON {name}")
        else:
            for verb in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER config_revision_{name}_{verb}")
    if postgres:
        op.execute("DROP FUNCTION bump_config_revision()")
        op.execute("DROP SEQUENCE config_revision_tokens")
    op.drop_table("config_revisions")
