"""Apply the schema migrations (Alembic), in-process."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at NixFlow's migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` (default: the newest)."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def known_revision(revision: str) -> bool:
    """Whether `revision` is one of NixFlow's migrations (a database from a newer NixFlow is not)."""
    script = ScriptDirectory(str(MIGRATIONS))
    return any(known.revision == revision for known in script.walk_revisions())
