"""`mail quarantine list|show|retry|discard`: mail the intake could not store, held for an admin."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer

from nixflow.cli._common import _ctx, _fail, _nixflow, _table

quarantine_cli = typer.Typer(
    help="Mail NixFlow could not store, held with its bytes and the error.", no_args_is_help=True
)
QuarantineId = Annotated[int, typer.Argument(help="The quarantined mail's id (`mail quarantine list`).")]
STATES = ("held", "retried", "discarded")


def _show(item: dict[str, Any]) -> None:
    typer.echo(json.dumps(item, indent=2, default=str, ensure_ascii=False))


@quarantine_cli.command("list")
def quarantine_list(
    state: Annotated[str | None, typer.Option(help="held, retried or discarded (default: every state).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many, newest first.")] = 50,
) -> None:
    """Quarantined mail, newest first."""
    from nixflow.email_in import quarantine_admin

    if state is not None and state not in STATES:
        raise _fail("--state must be held, retried or discarded")
    with _nixflow() as app:
        items, _ = app.db.read_sync(lambda conn: quarantine_admin.page(conn, state=state, limit=limit, cursor=None))
    rows = [
        [str(i["id"]), i["state"], i["source"], str(i["quarantined_at"])[:19], i["sender"] or "-", i["error"][:60]]
        for i in items
    ]
    _table(rows, ["id", "state", "source", "quarantined", "sender", "error"])


@quarantine_cli.command("show")
def quarantine_show(quarantine_id: QuarantineId) -> None:
    """One quarantined mail as JSON (`GET /api/mail/quarantine/ID/raw` has its bytes)."""
    from nixflow.email_in import quarantine_admin

    with _nixflow() as app:
        _show(app.db.read_sync(lambda conn: quarantine_admin.get(conn, quarantine_id=quarantine_id)))


@quarantine_cli.command("retry")
def quarantine_retry(quarantine_id: QuarantineId) -> None:
    """Run the intake again on a held mail: prints what it became, or the new error (it stays held, exit 1)."""
    from nixflow.email_in import intake, quarantine_admin

    with _nixflow() as app:
        config = intake.config_from(app.settings)
        item = asyncio.run(quarantine_admin.retry(app.writer, _ctx(), quarantine_id=quarantine_id, config=config))
    if item["state"] == "held":
        raise _fail(f"quarantined mail {quarantine_id} failed again, still held: {item['error']}")
    ticket = f" ticket {item['ticket_id']}" if item["ticket_id"] is not None else ""
    typer.echo(f"quarantined mail {quarantine_id} retried: {item['outcome']}{ticket}")


@quarantine_cli.command("discard")
def quarantine_discard(quarantine_id: QuarantineId) -> None:
    """Drop a held mail's bytes; the record and an `email.quarantine_discarded` event stay."""
    from nixflow.email_in import quarantine_admin

    with _nixflow() as app:
        app.writer.run_sync(lambda tx: quarantine_admin.discard(tx, quarantine_id=quarantine_id), _ctx())
    typer.echo(f"quarantined mail {quarantine_id} discarded")
