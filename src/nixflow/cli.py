"""The `nixflow` command."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from nixflow.config import ConfigError, Settings, load_settings
from nixflow.domain.errors import DomainError
from nixflow.domain.values import EventStatus, Role
from nixflow.events.envelope import EventContext
from nixflow.ids import uuid7

cli = typer.Typer(help="NixFlow: an event-driven helpdesk.", no_args_is_help=True, add_completion=False)
db_cli = typer.Typer(help="The database.", no_args_is_help=True)
users_cli = typer.Typer(help="Users.", no_args_is_help=True)
tokens_cli = typer.Typer(help="API tokens.", no_args_is_help=True)
events_cli = typer.Typer(help="The event log.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(users_cli, name="users")
cli.add_typer(tokens_cli, name="tokens")
cli.add_typer(events_cli, name="events")
rules_cli = typer.Typer(help="Automation rules.", no_args_is_help=True)
round_robin_cli = typer.Typer(help="Round-robin assignment counters.", no_args_is_help=True)
cli.add_typer(rules_cli, name="rules")
cli.add_typer(round_robin_cli, name="round-robin")


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        typer.echo(f"nixflow: {exc}", err=True)
        raise typer.Exit(2) from None


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


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="API only; run `nixflow worker` elsewhere.")] = False,
    access_log: Annotated[bool, typer.Option("--access-log", help="Log every request.")] = False,
) -> None:
    """Run the API, web UI, WebSocket and (unless --no-worker) the worker, in one process."""
    import uvicorn

    from nixflow.api.app import create_app

    settings = _settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings, run_worker=not no_worker)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=access_log, ws_ping_interval=20)


@cli.command()
def worker() -> None:
    """Run event consumers and periodic jobs (SLA, escalation, outbox sweep) in this process."""
    from nixflow.bootstrap import build, upgrade_database

    settings = _settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    upgrade_database(settings)

    async def run() -> None:
        app = build(settings)
        await app.start()
        try:
            await asyncio.Event().wait()
        finally:
            await app.stop()

    with suppress(KeyboardInterrupt):
        asyncio.run(run())


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations."""
    from nixflow.bootstrap import upgrade_database

    settings = _settings()
    try:
        upgrade_database(settings)
    except Exception as exc:
        raise _fail(f"migration failed: {type(exc).__name__}: {exc}".splitlines()[0]) from None
    typer.echo("database is up to date")


@users_cli.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Login email.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[str, typer.Option(help="admin, agent or requester.")],
    password: Annotated[str, typer.Option(help="At least 8 characters.", prompt=True, hide_input=True)],
    category: Annotated[list[str] | None, typer.Option(help="Category name (created if new); repeatable.")] = None,
    approver: Annotated[bool, typer.Option(help="May approve tickets.")] = False,
) -> None:
    """Create a user and print its id."""
    from nixflow.services import auth, users

    if role not in ("admin", "agent", "requester"):
        raise _fail("--role must be admin, agent or requester")
    if len(password) < auth.MIN_PASSWORD:
        raise _fail(f"--password must be at least {auth.MIN_PASSWORD} characters")
    password_hash = auth.hash_password(password)

    def create(tx: Any) -> int:
        known = {c["name"]: c["id"] for c in users.list_categories(tx.conn)}
        ids = [known[n] if n in known else users.create_category(tx, name=n)["id"] for n in category or []]
        user = users.create_user(
            tx,
            email=email,
            name=name,
            role=Role(role),
            password_hash=password_hash,
            category_ids=ids,
            can_approve=approver,
        )
        return int(user["id"])

    with _nixflow() as app:
        typer.echo(app.writer.run_sync(create, _ctx()))


@tokens_cli.command("create")
def tokens_create(email: Annotated[str, typer.Option(help="The user's email.")]) -> None:
    """Print a new API token for a user (shown once; stored hashed)."""
    from nixflow.services import auth, users

    def create(tx: Any) -> str:
        row = users.find_by_email(tx.conn, email=email)
        if row is None or row.id == 0:
            raise DomainError(f"no user with email {email}")
        return auth.issue_token(tx, user_id=int(row.id), kind="api", lifetime=None).token

    with _nixflow() as app:
        typer.echo(app.writer.run_sync(create, _ctx()))


@tokens_cli.command("revoke")
def tokens_revoke(token_id: Annotated[int, typer.Argument(help="The token's id.")]) -> None:
    """Revoke an API token or session at once."""
    from sqlalchemy import select

    from nixflow.services import auth
    from nixflow.store.tables import api_tokens

    def revoke(tx: Any) -> None:
        user_id = tx.conn.execute(select(api_tokens.c.user_id).where(api_tokens.c.id == token_id)).scalar()
        if user_id is None:
            raise DomainError(f"no token {token_id}")
        auth.revoke(tx, token_id=token_id, user_id=int(user_id))

    with _nixflow() as app:
        app.writer.run_sync(revoke, _ctx())
        typer.echo(f"token {token_id} revoked")


@tokens_cli.command("list")
def tokens_list(email: Annotated[str, typer.Option(help="The user's email.")]) -> None:
    """A user's sessions and API tokens, with the ids `tokens revoke` takes (never the secrets)."""
    from nixflow.services import auth, users

    def find(conn: Any) -> list[dict[str, Any]]:
        row = users.find_by_email(conn, email=email)
        if row is None or row.id == 0:
            raise DomainError(f"no user with email {email}")
        return auth.list_tokens(conn, user_id=int(row.id))

    def when(moment: datetime | None) -> str:
        return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"

    with _nixflow() as app:
        tokens = app.db.read_sync(find)
    rows = [
        [str(t["id"]), t["kind"], when(t["created_at"]), when(t["expires_at"]), when(t["revoked_at"])] for t in tokens
    ]
    _table(rows, ["id", "kind", "created (UTC)", "expires", "revoked"])


def _when(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _fail(f"{name}: not an RFC 3339 time: {value}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
    from nixflow.store import event_log

    with _nixflow() as app:
        data = app.db.read_sync(lambda conn: event_log.stats(conn, since=_when(since, "--since")))
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
    from nixflow.store import event_log

    if (event_id is None) == (since is None):
        raise _fail("give an event id or --since (not both)")
    with _nixflow() as app:
        if event_id is not None:
            ids = [event_id]
        else:
            start, end = _when(since, "--since"), _when(until, "--until") or datetime.now(UTC)
            assert start is not None
            ids = app.db.read_sync(lambda conn: event_log.ids_in_range(conn, since=start, until=end))
        count = app.writer.run_sync(lambda tx: event_log.reset_for_replay(tx.conn, ids, tx.now), _ctx()) if ids else 0
    if event_id is not None and count == 0:
        raise _fail(f"no event {event_id}")
    typer.echo(f"{count} event(s) queued for replay")


@events_cli.command("cleanup")
def events_cleanup(
    older_than_days: Annotated[
        int, typer.Option("--older-than-days", min=1, help="Delete finished events older than this.")
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

        client = _redis(settings.redis_url)
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
    from nixflow.store import event_log

    settings = _settings()
    with _nixflow() as app:
        records, _ = app.db.read_sync(
            lambda conn: event_log.find_many(conn, event_log.EventFilter(status=EventStatus.FAILED), limit=10_000)
        )
        ids = [r.event_id for r in records]
        count = app.writer.run_sync(lambda tx: event_log.reset_for_replay(tx.conn, ids, tx.now), _ctx()) if ids else 0
    if settings.redis_url:
        from nixflow.events.redis_transport import StreamNames

        _redis(settings.redis_url).delete(StreamNames(settings.redis_prefix).dead)
    typer.echo(f"{count} failed event(s) queued for delivery; a running worker delivers them within seconds")


def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=5)


@rules_cli.command("list")
def rules_list() -> None:
    """Every rule, in the order rules run."""
    from nixflow.automation import rules

    with _nixflow() as app:
        found = app.db.read_sync(rules.list_rules)
    rows = [
        [
            str(r["id"]),
            str(r["position"]),
            r["kind"],
            "yes" if r["active"] else "no",
            r["mode"],
            f"{r['rollout_percent']}%",
            r["name"],
        ]
        for r in found
    ]
    _table(rows, ["id", "position", "kind", "active", "mode", "rollout", "name"])


@rules_cli.command("show")
def rules_show(rule_id: Annotated[int, typer.Argument(help="The rule's id.")]) -> None:
    """One rule as JSON."""
    import json

    from nixflow.automation import rules

    with _nixflow() as app:
        rule = app.db.read_sync(lambda conn: rules.get_rule(conn, rule_id=rule_id))
    typer.echo(json.dumps(rule, indent=2, default=str))


def _toggle(rule_id: int, active: bool) -> None:
    from nixflow.automation import rules

    with _nixflow() as app:
        rule = app.writer.run_sync(lambda tx: rules.set_active(tx, rule_id=rule_id, active=active), _ctx())
    typer.echo(f"rule {rule_id} ({rule['name']}) is {'enabled' if active else 'disabled'}")


@rules_cli.command("enable")
def rules_enable(rule_id: Annotated[int, typer.Argument(help="The rule's id.")]) -> None:
    """Make a rule active."""
    _toggle(rule_id, True)


@rules_cli.command("disable")
def rules_disable(rule_id: Annotated[int, typer.Argument(help="The rule's id.")]) -> None:
    """Make a rule inactive."""
    _toggle(rule_id, False)


@round_robin_cli.command("counters")
def round_robin_counters() -> None:
    """Every round-robin counter."""
    with _nixflow() as app:
        counters = app.db.read_sync(app.counters.all)
    _table([[c["key"], str(c["value"]), str(c["updated_at"])] for c in counters], ["key", "value", "updated"])


@round_robin_cli.command("reset")
def round_robin_reset(
    key: Annotated[str | None, typer.Argument(help="One counter, e.g. category:3; none: all of them.")] = None,
) -> None:
    """Reset one counter or all: the category starts again with its first agent."""
    from nixflow.automation import round_robin

    with _nixflow() as app:
        count = app.writer.run_sync(lambda tx: round_robin.reset(tx, app.counters, key), _ctx())
    typer.echo(f"{count} counter(s) reset")


def main() -> None:
    """Entry point of the `nixflow` command."""
    try:
        cli()
    except ConfigError as exc:
        typer.echo(f"nixflow: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
