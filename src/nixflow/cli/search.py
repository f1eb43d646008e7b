"""`search rebuild`: the tickets' full-text index from the shell."""

from __future__ import annotations

import typer

from nixflow.cli._common import _ctx, _nixflow

search_cli = typer.Typer(help="The tickets' full-text index.", no_args_is_help=True)


@search_cli.command("rebuild")
def search_rebuild() -> None:
    """Rewrite every ticket's row of the search index from the tables (after a restore, or to be sure)."""
    from nixflow.store.ticket_index import reindex

    with _nixflow() as app:
        written = app.writer.run_sync(lambda tx: reindex(tx.conn), _ctx())
    typer.echo(f"indexed {written} tickets")
