"""What every command group shares: settings, failing with one line, an open NixFlow, tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import typer

from nixflow.config import ConfigError, Settings, load_settings
from nixflow.domain.envelope import EventContext
from nixflow.domain.errors import DomainError
from nixflow.ids import uuid7


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        typer.echo(f"nixflow: {exc}", err=True)
        raise typer.Exit(2) from None


def _reach_database(settings: Settings) -> None:
    """Apply migrations before serving: a database that cannot be reached stops start-up with one line."""
    from nixflow.bootstrap import upgrade_database

    try:
        upgrade_database(settings)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        typer.echo(f"nixflow: NIXFLOW_DATABASE_URL: cannot open the database: {reason}", err=True)
        raise typer.Exit(2) from None


def _trace(settings: Settings, service: str) -> None:
    """Send this process's spans to NIXFLOW_OTEL_ENDPOINT; without it OpenTelemetry is never imported."""
    if settings.otel_endpoint is None:
        return
    try:
        from nixflow.observe import otel
    except ImportError:
        typer.echo("nixflow: NIXFLOW_OTEL_ENDPOINT: needs the otel extra (pip install 'nixflow[otel]')", err=True)
        raise typer.Exit(2) from None
    otel.install(settings.otel_endpoint, service=service, sample_rate=settings.otel_sample_rate)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"nixflow: {message}", err=True)
    return typer.Exit(1)


@contextmanager
def _nixflow() -> Iterator[Any]:
    from nixflow.bootstrap import build, upgrade_database

    settings = _settings()
    try:
        upgrade_database(settings)
        app = build(settings)
    except Exception as exc:
        raise _fail(f"cannot open the database: {type(exc).__name__}: {exc}".splitlines()[0]) from None
    try:
        yield app
    except DomainError as exc:
        raise _fail(exc.detail) from None
    finally:
        app.writer.close()
        app.db.dispose()


def _ctx() -> EventContext:
    return EventContext(correlation_id=uuid7(), actor_id=None, source="cli")


def _table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    for line in [header, ["-" * w for w in widths], *rows]:
        typer.echo("  ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=False)).rstrip())


def _when(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _fail(f"{name}: not an RFC 3339 time: {value}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
