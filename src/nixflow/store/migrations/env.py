"""Alembic environment: NixFlow hands in an open connection (see nixflow.store.migrate)."""

from __future__ import annotations

from alembic import context

from nixflow.store.tables import managed, metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    include_name=managed,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
