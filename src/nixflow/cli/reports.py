"""`reports rebuild`: the report read models from the shell."""

from __future__ import annotations

import typer

from nixflow.cli._common import _ctx, _fail, _nixflow

reports_cli = typer.Typer(help="Report read models.", no_args_is_help=True)


@reports_cli.command("rebuild")
def reports_rebuild() -> None:
    """Empty the report tables and replay the whole event log into them; refused (exit 1, nothing changed) when
    the log no longer holds the history of tickets the reports count."""
    from nixflow.reports.rebuild import HistoryLost, rebuild

    with _nixflow() as app:
        try:
            applied = app.writer.run_sync(lambda tx: rebuild(tx.conn), _ctx())
        except HistoryLost as refused:
            raise _fail(f"reports rebuild refused: {refused}") from None
    typer.echo(f"rebuilt the report tables from {applied} events")
