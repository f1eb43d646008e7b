"""The `nixflow` command: the root app, assembled from one module per command group."""

from __future__ import annotations

import sys

import typer

from nixflow.cli import backup, events, mail, reports, rules, search, serve, users, webhooks
from nixflow.config import ConfigError

cli = typer.Typer(help="NixFlow: an event-driven helpdesk.", no_args_is_help=True, add_completion=False)
cli.command()(serve.serve)
cli.command()(serve.worker)
cli.add_typer(serve.db_cli, name="db")
cli.command()(backup.backup)
cli.command()(backup.restore)
cli.add_typer(users.users_cli, name="users")
cli.add_typer(users.tokens_cli, name="tokens")
cli.add_typer(events.events_cli, name="events")
cli.add_typer(rules.rules_cli, name="rules")
cli.add_typer(rules.round_robin_cli, name="round-robin")
cli.add_typer(mail.mail_cli, name="mail")
cli.add_typer(webhooks.webhooks_cli, name="webhooks")
cli.add_typer(reports.reports_cli, name="reports")
cli.add_typer(search.search_cli, name="search")


def main() -> None:
    """Entry point of the `nixflow` command."""
    try:
        cli()
    except ConfigError as exc:
        typer.echo(f"nixflow: {exc}", err=True)
        sys.exit(2)
