"""Migrations build exactly the schema the code declares, and seed what a fresh database needs."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from nixflow.store.db import make_engine
from nixflow.store.migrate import upgrade
from nixflow.store.tables import managed, metadata, sla_policies, users


def test_migrations_match_the_tables_and_seed_the_system_user(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}", immediate=True)
    upgrade(engine)
    upgrade(engine)  # idempotent: a second run changes nothing
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"include_name": managed}), metadata) == []
        system = conn.execute(select(users).where(users.c.id == 0)).one()
        assert system.role == "system" and system.password_hash is None
        policies = {
            r.priority: (r.first_response_minutes, r.resolution_minutes, r.warning_percent)
            for r in conn.execute(select(sla_policies))
        }
    assert policies == {
        "critical": (15, 240, 80),
        "high": (60, 480, 80),
        "normal": (240, 1440, 80),
        "low": (480, 2880, 80),
    }
    engine.dispose()
