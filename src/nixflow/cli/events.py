"""`events list|stats|replay|cleanup|dead-letters|redrive`: the event log from the shell."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from nixflow.cli._common import _ctx, _fail, _nixflow, _settings, _table, _when
from nixflow.domain.values import EventStatus

events_cli = typer.Typer(help="The event log.", no_args_is_help=True)


@events_cli.command("list")
def events_list(
    type: Annotated[str | None, typer.Option(help="Event type, e.g. ticket.created.")] = None,
    category: Annotated[str | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option()] = None,
    aggregate_id: Annotated[str | None, typer.Option()] = None,
    correlation_id: Annotated[str | None, typer.Option()] = None,
    since: Annotated[str | None, typer.Option(help="RFC 3339 time.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 20,
) -> None:
    """The newest events, as a table."""
    from nixflow.store import event_log

    if status is not None and status not in {s.value for s in EventStatus}:
        raise _fail(f"--status must be one of {', '.join(s.value for s in EventStatus)}")
    flt = event_log.EventFilter(
        type=type,
        category=category,
        status=EventStatus(status) if status else None,
        aggregate_id=aggregate_id,
        correlation_id=correlation_id,
        since=_when(since, "--since"),
    )
    with _nixflow() as app:
        records, _ = app.db.read_sync(lambda conn: event_log.find_many(conn, flt, limit=limit))
    rows = [
        [
            r.timestamp.strftime("%Y-%m-%d %H:%M:%S"),
            r.type,
            f"{r.aggregate_type}:{r.aggregate_id}",
            r.status.value,
            r.priority.value,
            r.correlation_id,
            r.event_id,
        ]
        for r in records
    ]
    _table(rows, ["time (UTC)", "type", "aggregate", "status", "priority", "correlation", "event id"])


@events_cli.command("stats")
def events_stats(since: Annotated[str | None, typer.Option(help="RFC 3339 time.")] = None) -> None:
    """Counts of events by type, status and priority."""
    from nixflow.store import event_stats

    with _nixflow() as app:
        data = app.db.read_sync(lambda conn: event_stats.stats(conn, since=_when(since, "--since")))
    typer.echo(f"total: {data['total']}")
    for key in ("by_status", "by_priority", "by_type"):
        typer.echo("")
        _table([[k, str(v)] for k, v in sorted(data[key].items(), key=lambda kv: -kv[1])], [key[3:], "count"])


@events_cli.command("replay")
def events_replay(
    event_id: Annotated[str | None, typer.Argument(help="One event to replay.")] = None,
    since: Annotated[str | None, typer.Option(help="Replay a time range from here (RFC 3339)...")] = None,
    until: Annotated[str | None, typer.Option(help="...to here (default: now).")] = None,
) -> None:
    """Mark events for re-delivery; a running NixFlow delivers them within seconds."""
    from nixflow.store import deliveries, event_log

    if (event_id is None) == (since is None):
        raise _fail("give an event id or --since (not both)")
    with _nixflow() as app:
        if event_id is not None:
            ids = [event_id]
        else:
            start, end = _when(since, "--since"), _when(until, "--until") or datetime.now(UTC)
            assert start is not None
            ids = app.db.read_sync(lambda conn: event_log.ids_in_range(conn, since=start, until=end))
        count = app.writer.run_sync(lambda tx: deliveries.reset_for_replay(tx.conn, ids, tx.now), _ctx()) if ids else 0
    if event_id is not None and count == 0:
        raise _fail(f"no event {event_id}")
    typer.echo(f"{count} event(s) queued for replay")


@events_cli.command("cleanup")
def events_cleanup(
    older_than_days: Annotated[
        int, typer.Option("--older-than-days", "--days", min=1, help="Delete finished events older than this.")
    ] = 90,
) -> None:
    """Delete completed and failed events older than N days (pending ones are never deleted)."""
    from nixflow.store import event_log

    cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
    with _nixflow() as app:
        count = app.writer.run_sync(lambda tx: event_log.cleanup(tx.conn, older_than=cutoff), _ctx())
    typer.echo(f"deleted {count} event(s) older than {cutoff:%Y-%m-%d %H:%M} UTC")


@events_cli.command("dead-letters")
def events_dead_letters(limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50) -> None:
    """Events that failed after their last attempt (scale-out: the dead-letter stream; embedded: the log)."""
    from nixflow.store import event_log

    settings = _settings()
    if settings.redis_url:
        from nixflow.events.redis_transport import StreamNames

        client = _redis(settings)
        entries = client.xrevrange(StreamNames(settings.redis_prefix).dead, count=limit)
        rows = [[str(mid), f.get("type", ""), f.get("event_id", ""), f.get("error", "")[:80]] for mid, f in entries]
        _table(rows, ["message", "type", "event id", "error"])
        return
    with _nixflow() as app:
        records, _ = app.db.read_sync(
            lambda conn: event_log.find_many(conn, event_log.EventFilter(status=EventStatus.FAILED), limit=limit)
        )
    _table(
        [[r.type, r.event_id, str(r.retry_count), (r.error or "")[:80]] for r in records],
        ["type", "event id", "attempts", "error"],
    )


@events_cli.command("redrive")
def events_redrive() -> None:
    """Send every failed event (and dead letter) to its handlers again; handlers that did their part skip it."""
    from nixflow.store import deliveries, event_log

    settings = _settings()
    with _nixflow() as app:
        records, _ = app.db.read_sync(
            lambda conn: event_log.find_many(conn, event_log.EventFilter(status=EventStatus.FAILED), limit=10_000)
        )
        ids = [r.event_id for r in records]
        count = app.writer.run_sync(lambda tx: deliveries.reset_for_replay(tx.conn, ids, tx.now), _ctx()) if ids else 0
    if settings.redis_url:
        from nixflow.events.redis_transport import StreamNames

        _redis(settings).delete(StreamNames(settings.redis_prefix).dead)
    typer.echo(f"{count} failed event(s) queued for delivery; a running worker delivers them within seconds")


def _redis(settings: Any) -> Any:
    from nixflow.store.redis_client import redis_target

    target = redis_target(settings)
    assert target is not None
    return target.client(decode_responses=True, socket_connect_timeout=5)
