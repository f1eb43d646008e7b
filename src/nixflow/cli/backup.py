"""`nixflow backup FILE` and `nixflow restore FILE`: the whole database in one file, with a progress bar."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from nixflow.cli._common import _fail, _settings

if TYPE_CHECKING:
    from nixflow.store.backup.common import Progress


@contextmanager
def _bar(label: str) -> Iterator[Any]:
    """A progress callback (done, total) drawing one bar on standard error; made at the first call (the total
    is known only then)."""
    state: dict[str, Any] = {}

    def progress(done: int, total: int) -> None:
        if "bar" not in state:
            state["bar"] = typer.progressbar(length=max(total, 1), label=label, file=sys.stderr)
            state["bar"].__enter__()
        bar = state["bar"]
        bar.update(done - bar.pos)

    try:
        yield progress
    finally:
        if "bar" in state:
            state["bar"].__exit__(None, None, None)


def _summary(manifest: dict[str, Any]) -> str:
    counts = manifest["counts"]
    return (
        f"{counts['tickets']} tickets, {counts['events']} events, {counts['users']} users, "
        f"{counts['attachments']} attachments ({counts['attachment_bytes']} bytes)"
    )


Job = Callable[[str, Path, "Progress"], dict[str, Any]]


def _carry_out(command: str, label: str, job: Job, file: Path) -> dict[str, Any]:
    """Run a backup or restore `job` on the configured database with a progress bar; a refusal is one line."""
    from nixflow.store.backup.common import BackupError

    settings = _settings()
    try:
        with _bar(label) as progress:
            return job(settings.database_url, file, progress)
    except BackupError as exc:
        raise _fail(f"{command}: {exc}") from None


def backup(file: Annotated[Path, typer.Argument(help="The new backup file to write.")]) -> None:
    """Back up the database (and the attachments in it) into FILE, while NixFlow serves."""
    from nixflow.store.backup.bundle import back_up

    manifest = _carry_out("backup", "backing up", back_up, file)
    typer.echo(f"backed up {_summary(manifest)} (schema {manifest['schema_revision']}) to {file}")


def restore(file: Annotated[Path, typer.Argument(help="A file written by `nixflow backup`.")]) -> None:
    """Restore FILE into the configured database, which must be empty; then migrate it to this NixFlow's schema."""
    from nixflow.store.backup import bundle

    manifest = _carry_out("restore", "restoring", bundle.restore, file)
    typer.echo(f"restored {_summary(manifest)} from {file} (taken {manifest['created_at']})")
