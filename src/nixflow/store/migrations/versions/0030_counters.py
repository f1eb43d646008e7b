"""counters kept by the database in the writing transaction: events per hour/type/status/priority, tickets per
status/priority/category/assignee (issue 31: event statistics and queue counts without scanning); the reports'
facts per day (`report_days`, kept by the report projection), filled here from the report tables

Triggers, not application code: an event's status moves on several paths (inline outcome, claim, retry, replay,
cleanup, retention) and a ticket's counted columns on every write; a trigger sees each of them, in the same
transaction, whatever wrote it. SQLite: row triggers (one writer, no contention). PostgreSQL: statement triggers
over transition tables, one upsert per statement in key order, on one of 8 shards chosen by the transaction id,
so concurrent writers rarely wait on the same counter row.

Revision ID: 0030
Revises: 0025
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

SHARDS = 8
NULL_ID = -1  # a counter key cannot be NULL: "no category" / "unassigned"

# (counter table, source table, key columns as SQL over a source row's alias `r`)
EVENT_KEYS = {
    "hour": "{hour}",
    "event_type": "r.event_type",
    "status": "r.status",
    "priority": "r.priority",
}
TICKET_KEYS = {
    "status": "r.status",
    "priority": "r.priority",
    "category_id": f"COALESCE(r.category_id, {NULL_ID})",
    "assignee_id": f"COALESCE(r.assignee_id, {NULL_ID})",
}
COUNTERS = (("event_counts", "events", EVENT_KEYS), ("ticket_counts", "tickets", TICKET_KEYS))
SQLITE_HOUR = "CAST(strftime('%s', r.timestamp) AS INTEGER) / 3600"
POSTGRES_HOUR = "floor(extract(epoch FROM r.timestamp) / 3600)::bigint"


def upgrade() -> None:
    op.create_table(
        "event_counts",
        sa.Column("hour", sa.BigInteger(), nullable=False),  # hours since the Unix epoch (UTC)
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "event_type", "status", "priority", "shard"),
    )
    op.create_table(
        "ticket_counts",
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("category_id", sa.BigInteger(), nullable=False),
        sa.Column("assignee_id", sa.BigInteger(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("status", "priority", "category_id", "assignee_id", "shard"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for counter, source, keys in COUNTERS:
        fill = _keyed(keys, postgres)
        op.execute(
            f"INSERT INTO {counter} ({', '.join(keys)}, shard, n) "
            f"SELECT {', '.join(fill.values())}, 0, count(*) FROM {source} r GROUP BY {', '.join(fill.values())}"
        )
        for statement in (_postgres_triggers if postgres else _sqlite_triggers)(counter, source, keys):
            op.execute(statement)
    _report_days(postgres)


MEASURES = (
    "created", "opened", "solved", "reopens",
    "first_response_met", "first_response_breached", "resolution_met", "resolution_breached",
)  # fmt: skip


def _report_days(postgres: bool) -> None:
    op.create_table(
        "report_days",
        sa.Column("day", sa.BigInteger(), nullable=False),
        sa.Column("category_id", sa.BigInteger(), nullable=False),
        sa.Column("assignee_id", sa.BigInteger(), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        *(sa.Column(m, sa.BigInteger(), nullable=False) for m in MEASURES),
        sa.PrimaryKeyConstraint("day", "category_id", "assignee_id", "priority"),
    )
    # Durations kept beside their instants, so a period's median is a sort of the period's values.
    for column, stop in (("first_reply_us", "first_reply_at"), ("resolution_us", "resolved_at")):
        op.add_column("report_tickets", sa.Column(column, sa.BigInteger()))
        op.execute(f"UPDATE report_tickets SET {column} = {_microseconds(stop, postgres)} WHERE {stop} IS NOT NULL")
    # Spells solved after a reopen: the few that make "tickets solved" (distinct) differ from resolves.
    reopened = sa.text("spell > 0")
    op.create_index(
        "ix_report_spells_solved_again",
        "report_spells",
        ["solved_at"],
        sqlite_where=reopened,
        postgresql_where=reopened,
    )

    def day(column: str) -> str:
        return (
            f"floor(extract(epoch FROM {column}) / 86400)::bigint"
            if postgres
            else (f"CAST(strftime('%s', {column}) AS INTEGER) / 86400")
        )

    def facts(at: str, source: str, **measures: str) -> str:
        values = ", ".join(f"{measures.get(m, '0')} AS {m}" for m in MEASURES)
        return f"SELECT {day(at)} AS day, t.category_id, t.assignee_id, t.priority, {values} FROM {source}"

    spells = "report_spells s JOIN report_tickets t ON t.ticket_id = s.ticket_id"
    sla = "report_sla g JOIN report_tickets t ON t.ticket_id = g.ticket_id"
    outcome = "CASE WHEN g.target = '{}' AND g.outcome = '{}' THEN 1 ELSE 0 END"
    union = " UNION ALL ".join(
        (
            facts("t.created_at", "report_tickets t", created="1"),
            facts("s.opened_at", spells, opened="1", reopens="CASE WHEN s.spell > 0 THEN 1 ELSE 0 END"),
            facts("s.solved_at", f"{spells} WHERE s.solved_at IS NOT NULL", solved="1"),
            facts(
                "g.at",
                sla,
                **{
                    f"{t}_{o}": outcome.format(t, o)
                    for t in ("first_response", "resolution")
                    for o in ("met", "breached")
                },
            ),
        )
    )
    sums = ", ".join(f"sum({m})" for m in MEASURES)
    op.execute(
        f"INSERT INTO report_days (day, category_id, assignee_id, priority, {', '.join(MEASURES)}) "
        f"SELECT day, COALESCE(category_id, {NULL_ID}), COALESCE(assignee_id, {NULL_ID}), priority, {sums} "
        f"FROM ({union}) f GROUP BY 1, 2, 3, 4"
    )


def _microseconds(stop: str, postgres: bool) -> str:
    if postgres:
        return f"CAST((extract(epoch FROM {stop}) - extract(epoch FROM created_at)) * 1000000 AS BIGINT)"
    seconds = f"(CAST(strftime('%s', {stop}) AS INTEGER) - CAST(strftime('%s', created_at) AS INTEGER))"
    return f"{seconds} * 1000000 + CAST(substr({stop}, 21, 6) AS INTEGER) - CAST(substr(created_at, 21, 6) AS INTEGER)"


def _keyed(keys: dict[str, str], postgres: bool) -> dict[str, str]:
    hour = POSTGRES_HOUR if postgres else SQLITE_HOUR
    return {name: sql.format(hour=hour) for name, sql in keys.items()}


def _sqlite_triggers(counter: str, source: str, keys: dict[str, str]) -> list[str]:
    sql = _keyed(keys, postgres=False)
    columns = ", ".join(keys)

    def add(row: str, n: int) -> str:
        values = ", ".join(v.replace("r.", f"{row}.") for v in sql.values())
        return (
            f"INSERT INTO {counter} ({columns}, shard, n) VALUES ({values}, 0, {n}) "
            f"ON CONFLICT ({columns}, shard) DO UPDATE SET n = n + excluded.n;"
        )

    changed = " OR ".join(f"({v.replace('r.', 'OLD.')}) IS NOT ({v.replace('r.', 'NEW.')})" for v in sql.values())
    return [
        f"CREATE TRIGGER {counter}_insert AFTER INSERT ON {source} BEGIN {add('NEW', 1)} END",
        f"CREATE TRIGGER {counter}_delete AFTER DELETE ON {source} BEGIN {add('OLD', -1)} END",
        f"CREATE TRIGGER {counter}_update AFTER UPDATE ON {source} WHEN {changed} "
        f"BEGIN {add('OLD', -1)} {add('NEW', 1)} END",
    ]


def _postgres_triggers(counter: str, source: str, keys: dict[str, str]) -> list[str]:
    sql = _keyed(keys, postgres=True)
    columns = ", ".join(keys)
    positions = ", ".join(str(i + 1) for i in range(len(keys)))

    def rows(table: str, sign: int) -> str:
        return f"SELECT {', '.join(f'{v} AS {k}' for k, v in sql.items())}, {sign} AS n FROM {table} r"

    def apply(deltas: str) -> str:
        # Grouped (an upsert may touch a row once), net zero skipped, in key order (no deadlock between two).
        return (
            f"INSERT INTO {counter} ({columns}, shard, n) "
            f"SELECT {columns}, (txid_current() % {SHARDS})::smallint, sum(n) FROM ({deltas}) d "
            f"GROUP BY {positions} HAVING sum(n) <> 0 ORDER BY {positions} "
            f"ON CONFLICT ({columns}, shard) DO UPDATE SET n = {counter}.n + excluded.n;"
        )

    bodies = {
        "insert": apply(rows("new_rows", 1)),
        "delete": apply(rows("old_rows", -1)),
        "update": apply(f"{rows('old_rows', -1)} UNION ALL {rows('new_rows', 1)}"),
    }
    transition = {"insert": "NEW TABLE AS new_rows", "delete": "OLD TABLE AS old_rows"}
    transition["update"] = f"{transition['delete']} {transition['insert']}"
    statements = []
    for operation, body in bodies.items():
        function = f"{counter}_{operation}"
        statements.append(
            f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$"
        )
        statements.append(
            f"CREATE TRIGGER {function} AFTER {operation.upper()} ON {source} "
            f"REFERENCING {transition[operation]} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )
    return statements


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_report_spells_solved_again", table_name="report_spells")
    for column in ("first_reply_us", "resolution_us"):
        op.drop_column("report_tickets", column)
    op.drop_table("report_days")
    for counter, source, _ in COUNTERS:
        for operation in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {counter}_{operation}" + (f" ON {source}" if postgres else ""))
            if postgres:
                op.execute(f"DROP FUNCTION IF EXISTS {counter}_{operation}()")
        op.drop_table(counter)
