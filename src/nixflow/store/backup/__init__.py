"""Backups: one file holding a manifest and the database, taken while NixFlow serves, restored into an empty
database only (`bundle`), by SQLite's online backup API (`sqlite`) or PostgreSQL's `pg_dump` (`postgres`)."""
