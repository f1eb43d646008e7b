"""`webhooks list|create|show|pause|resume|shadow|delete|rotate-secret|deliveries|replay`."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Annotated, Any, cast

import typer

from nixflow.cli._common import _ctx, _fail, _nixflow, _table, _when

webhooks_cli = typer.Typer(
    help="Webhook subscriptions: signed, ordered deliveries of events to a URL.", no_args_is_help=True
)
WebhookId = Annotated[int, typer.Argument(help="The webhook's id.")]


def _show(found: dict[str, Any]) -> None:
    typer.echo(json.dumps(found, indent=2, default=str))


@webhooks_cli.command("list")
def webhooks_list() -> None:
    """Every subscription."""
    from nixflow.webhooks import subscriptions

    with _nixflow() as app:
        found = app.db.read_sync(subscriptions.list_all)
    rows = [
        [str(w["id"]), w["mode"], ",".join(w["event_types"]), str(w["category_id"] or "-"), w["url"]] for w in found
    ]
    _table(rows, ["id", "mode", "event types", "category", "url"])


@webhooks_cli.command("create")
def webhooks_create(
    url: Annotated[str, typer.Option(help="Where to POST events (http:// or https://).")],
    event_type: Annotated[
        list[str], typer.Option("--event-type", help="An event type, '<category>.*' or '*'; repeat for more.")
    ],
    category: Annotated[int | None, typer.Option(help="Only events about tickets of this category id.")] = None,
    mode: Annotated[str, typer.Option(help="active, paused or shadow (built and logged, not sent).")] = "active",
    description: Annotated[str, typer.Option(help="What it is for.")] = "",
) -> None:
    """Subscribe a URL to events; prints the subscription and its secret (shown only now)."""
    from nixflow import crypto
    from nixflow.outbound import targets
    from nixflow.webhooks import subscriptions
    from nixflow.webhooks.model import Mode

    if mode not in ("active", "paused", "shadow"):
        raise _fail("--mode must be active, paused or shadow")
    with _nixflow() as app:
        asyncio.run(targets.validate(url, allow_private=app.settings.webhook_allow_private))
        keys = crypto.keyring(app.settings)
        created = app.writer.run_sync(
            lambda tx: subscriptions.create(
                tx,
                keys=keys,
                url=url,
                event_types=event_type,
                category_id=category,
                mode=cast(Mode, mode),
                description=description,
            ),
            _ctx(),
        )
    _show(created)


@webhooks_cli.command("show")
def webhooks_show(webhook_id: WebhookId) -> None:
    """One subscription as JSON."""
    from nixflow.webhooks import subscriptions

    with _nixflow() as app:
        _show(app.db.read_sync(lambda conn: subscriptions.get(conn, webhook_id=webhook_id)))


def _set_mode(webhook_id: int, mode: str) -> None:
    from nixflow.webhooks import subscriptions

    with _nixflow() as app:
        app.writer.run_sync(
            lambda tx: subscriptions.update_one(tx, webhook_id=webhook_id, changes={"mode": mode}), _ctx()
        )
    typer.echo(f"webhook {webhook_id} is {mode}")


@webhooks_cli.command("pause")
def webhooks_pause(webhook_id: WebhookId) -> None:
    """Stop delivering; what happens meanwhile is delivered on resume."""
    _set_mode(webhook_id, "paused")


@webhooks_cli.command("resume")
def webhooks_resume(webhook_id: WebhookId) -> None:
    """Deliver again (also after the subscription was disabled), from where it stopped."""
    _set_mode(webhook_id, "active")


@webhooks_cli.command("shadow")
def webhooks_shadow(webhook_id: WebhookId) -> None:
    """Build, sign and log each delivery without sending it."""
    _set_mode(webhook_id, "shadow")


@webhooks_cli.command("delete")
def webhooks_delete(webhook_id: WebhookId) -> None:
    """Delete a subscription and its deliveries."""
    from nixflow.webhooks import subscriptions

    with _nixflow() as app:
        app.writer.run_sync(lambda tx: subscriptions.delete(tx, webhook_id=webhook_id), _ctx())
    typer.echo(f"webhook {webhook_id} deleted")


@webhooks_cli.command("rotate-secret")
def webhooks_rotate(
    webhook_id: WebhookId,
    overlap_hours: Annotated[int, typer.Option(min=0, max=168, help="How long the old secret also signs.")] = 24,
) -> None:
    """A new signing secret (printed only now); the old one keeps signing beside it for the overlap."""
    from nixflow import crypto
    from nixflow.webhooks import subscriptions

    with _nixflow() as app:
        keys = crypto.keyring(app.settings)
        rotated = app.writer.run_sync(
            lambda tx: subscriptions.rotate(
                tx, keys=keys, webhook_id=webhook_id, overlap=timedelta(hours=overlap_hours)
            ),
            _ctx(),
        )
    _show(rotated)


@webhooks_cli.command("deliveries")
def webhooks_deliveries(
    webhook_id: WebhookId, limit: Annotated[int, typer.Option(min=1, max=500, help="How many.")] = 50
) -> None:
    """The latest deliveries of a subscription."""
    from nixflow.webhooks import deliveries, subscriptions

    def read(conn: Any) -> list[dict[str, Any]]:
        subscriptions.get(conn, webhook_id=webhook_id)
        return deliveries.page(conn, webhook_id=webhook_id, limit=limit, cursor=None)[0]

    with _nixflow() as app:
        found = app.db.read_sync(read)
    rows = [
        [
            str(d["id"]),
            d["event_type"],
            d["status"],
            str(d["attempts"]),
            str(d["last_status_code"] or "-"),
            str(d["delivered_at"] or d["next_attempt_at"] or "-"),
            (d["last_error"] or "")[:60],
        ]
        for d in found
    ]
    _table(rows, ["id", "event type", "status", "attempts", "code", "delivered / next", "error"])


@webhooks_cli.command("replay")
def webhooks_replay(
    webhook_id: WebhookId,
    after: Annotated[int | None, typer.Option(help="Every wanted event after this log position (seq).")] = None,
    since: Annotated[str | None, typer.Option(help="Every wanted event from this RFC 3339 time.")] = None,
    event_id: Annotated[str | None, typer.Option(help="One event.")] = None,
) -> None:
    """Deliver again, with the same webhook-id."""
    from nixflow.webhooks import subscriptions

    if sum(x is not None for x in (after, since, event_id)) != 1:
        raise _fail("give exactly one of --after, --since, --event-id")
    start = _when(since, "--since")
    with _nixflow() as app:
        scheduled = app.writer.run_sync(
            lambda tx: subscriptions.replay(tx, webhook_id=webhook_id, after=after, since=start, event_id=event_id),
            _ctx(),
        )
    typer.echo(f"{scheduled} deliveries scheduled")
