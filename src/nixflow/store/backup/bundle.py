"""The backup file: a tar of `manifest.json` and the database copy, with the copy's size and SHA-256, so a
damaged or cut file is refused before anything is written. Attachments live in the database (`attachments`
table), so they are in the copy; the manifest counts them."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import tarfile
from contextlib import closing
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import IO, Any

from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from nixflow.store import migrate
from nixflow.store.backup import postgres, sqlite
from nixflow.store.backup.common import BackupError, Progress, facts, table_count
from nixflow.store.db import make_engine, sync_url

FORMAT = "nixflow-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
COPIES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
_CHUNK = 1024 * 1024


def _kind(url: str) -> str:
    return "postgresql" if sync_url(url).startswith("postgresql") else "sqlite"


def _sqlite_file(url: str) -> Path:
    return Path(make_url(sync_url(url)).database or "")


def _digest(stream: IO[bytes], into: IO[bytes] | None = None) -> tuple[str, int]:
    """SHA-256 and size of what `stream` holds (copied `into` on the way)."""
    sha, size = hashlib.sha256(), 0
    while chunk := stream.read(_CHUNK):
        sha.update(chunk)
        size += len(chunk)
        if into is not None:
            into.write(chunk)
    return sha.hexdigest(), size


def _sqlite_facts(copy: Path) -> dict[str, Any]:
    engine = make_engine(f"sqlite:///{copy}")
    try:
        with engine.connect() as conn:
            return facts(conn) | {"tables": table_count(conn)}
    finally:
        engine.dispose()


def back_up(url: str, destination: Path, progress: Progress) -> dict[str, Any]:
    """Copy the database at `url`, while it serves, into the new backup file `destination`; its manifest."""
    kind = _kind(url)
    if destination.exists():
        raise BackupError(f"{destination} exists already: back up into a new file")
    if not destination.parent.is_dir():
        raise BackupError(f"no folder {destination.parent} to write the backup in")
    with TemporaryDirectory(dir=destination.parent, prefix=".nixflow-backup-") as work:
        copy = Path(work) / COPIES[kind]
        if kind == "sqlite":
            sqlite.copy_out(_sqlite_file(url), copy, progress)
            found = _sqlite_facts(copy)
        else:
            engine = make_engine(url)
            try:
                found = postgres.dump(engine, url, copy, progress)
            finally:
                engine.dispose()
        with copy.open("rb") as stream:
            sha256, size = _digest(stream)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "nixflow_version": version("nixflow"),
            "database": kind,
            "mode": "embedded" if kind == "sqlite" else "scale-out",  # PostgreSQL is what scale-out runs on
            "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            **found,
            "copy": {"name": copy.name, "size": size, "sha256": sha256},
        }
        written = Path(work) / "backup.tar"
        with tarfile.open(written, "w") as tar:
            body = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
            tar.add(copy, arcname=copy.name)
        os.replace(written, destination)
    return manifest


def read_manifest(source: Path) -> dict[str, Any]:
    """The manifest of a backup file; a file that is not one, or is cut short, is a `BackupError`."""
    try:
        with tarfile.open(source, "r") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            manifest: dict[str, Any] = json.loads(member.read())
            if manifest.get("format") != FORMAT:
                raise ValueError("no NixFlow manifest")
            return manifest
    except FileNotFoundError:
        raise BackupError(f"no backup file {source}") from None
    except (tarfile.TarError, OSError, EOFError, KeyError, ValueError) as exc:
        raise BackupError(f"{source} is not a NixFlow backup, or it is damaged ({type(exc).__name__})") from None


def _check(manifest: dict[str, Any], url: str) -> None:
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"backup format {manifest.get('format_version')} is not one this NixFlow reads")
    if manifest["database"] != _kind(url):
        raise BackupError(f"this is a backup of a {manifest['database']} database; NIXFLOW_DATABASE_URL is not one")
    if not migrate.known_revision(str(manifest["schema_revision"])):
        raise BackupError(f"the backup's schema ({manifest['schema_revision']}) is newer than this NixFlow's")


def tables_at(url: str) -> int:
    """How many tables the database at `url` holds (0 for a SQLite file not made yet)."""
    if _kind(url) == "sqlite":
        path = _sqlite_file(url)
        if not path.exists():
            return 0
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            return int(conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0])
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return table_count(conn)
    except SQLAlchemyError as exc:
        raise BackupError(f"cannot open the database: {str(exc).splitlines()[0]}") from None
    finally:
        engine.dispose()


def _extract(source: Path, manifest: dict[str, Any], into: Path) -> Path:
    """The database copy out of the backup file, checked against the manifest's size and SHA-256."""
    expected = manifest["copy"]
    copy = into / Path(expected["name"]).name
    try:
        with tarfile.open(source, "r") as tar, copy.open("wb") as out:
            member = tar.extractfile(expected["name"])
            if member is None:
                raise KeyError(expected["name"])
            sha256, size = _digest(member, out)
    except (tarfile.TarError, OSError, EOFError, KeyError) as exc:
        raise BackupError(f"{source} is damaged: its database copy cannot be read ({type(exc).__name__})") from None
    if (sha256, size) != (expected["sha256"], expected["size"]):
        raise BackupError(f"{source} is damaged: its database copy does not match the manifest's checksum")
    return copy


def restore(url: str, source: Path, progress: Progress) -> dict[str, Any]:
    """Restore the backup file `source` into the empty database at `url`, then migrate it to the newest schema.

    Everything is checked (the manifest, the database kind and schema, emptiness, the copy's checksum) before
    the first write; a refusal changes nothing.
    """
    manifest = read_manifest(source)
    _check(manifest, url)
    if tables := tables_at(url):
        raise BackupError(f"the database is not empty ({tables} tables): restore only into a new, empty database")
    with TemporaryDirectory(prefix="nixflow-restore-") as work:
        copy = _extract(source, manifest, Path(work))
        if manifest["database"] == "sqlite":
            sqlite.copy_in(copy, _sqlite_file(url), progress)
        else:
            postgres.load(url, copy, int(manifest["tables"]), progress)
    engine = make_engine(url)
    try:
        if manifest["database"] == "postgresql":
            postgres.renumber_positions(engine)
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return manifest
