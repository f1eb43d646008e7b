"""`rules list|show|enable|disable` and `round-robin counters|reset`."""

from __future__ import annotations

from typing import Annotated

import typer

from nixflow.cli._common import _ctx, _nixflow, _table

rules_cli = typer.Typer(help="Automation rules.", no_args_is_help=True)
round_robin_cli = typer.Typer(help="Round-robin assignment counters.", no_args_is_help=True)


@rules_cli.command("list")
def rules_list() -> None:
    """Every rule, in the order rules run."""
    from nixflow.services import rules

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

    from nixflow.services import rules

    with _nixflow() as app:
        rule = app.db.read_sync(lambda conn: rules.get_rule(conn, rule_id=rule_id))
    typer.echo(json.dumps(rule, indent=2, default=str))


def _toggle(rule_id: int, active: bool) -> None:
    from nixflow.services import rules

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
