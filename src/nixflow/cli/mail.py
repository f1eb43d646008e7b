"""`nixflow mail receive`: one message on standard input, for an MTA to pipe into.

Exit codes are the MTA's (sysexits.h): 0 stored (or stored before), or held in quarantine because NixFlow could
not store it (an admin retries or discards it: the MTA must not bounce it nor retry it for days); 65 bytes that
are not a message; 75 only for a passing outage, the database out of reach (the MTA keeps it and tries again).
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

import typer

from nixflow.cli.mail_quarantine import quarantine_cli
from nixflow.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from nixflow.email_in.intake import IntakeConfig, Outcome
    from nixflow.email_in.parse import ParsedMail
    from nixflow.email_in.quarantine import Held

mail_cli = typer.Typer(help="Mail into NixFlow.", no_args_is_help=True)
mail_cli.add_typer(quarantine_cli, name="quarantine")

EX_OK, EX_DATAERR, EX_TEMPFAIL = 0, 65, 75


def _say(message: str) -> None:
    typer.echo(f"nixflow mail: {message}", err=True)


@mail_cli.command("receive")
def receive() -> None:
    """Read one RFC 822 message on standard input and store it (a ticket, a comment, or a recorded refusal)."""
    from nixflow.email_in import intake
    from nixflow.email_in.parse import Unreadable
    from nixflow.email_in.quarantine import Held, read

    raw = sys.stdin.buffer.read()
    try:
        settings = load_settings()
    except ConfigError as exc:
        _say(str(exc))
        raise typer.Exit(EX_TEMPFAIL) from None
    config = intake.config_from(settings)
    try:
        mail = read(raw, config)
    except Unreadable as exc:
        _say(f"unreadable message: {exc}")
        raise typer.Exit(EX_DATAERR) from None
    try:
        taken = asyncio.run(_store(settings, raw, mail, config))
    except Exception as exc:  # `take` raises nothing else but an outage (the database out of reach)
        _say(f"cannot store the message now, try again later: {type(exc).__name__}: {exc}".splitlines()[0])
        raise typer.Exit(EX_TEMPFAIL) from None
    if isinstance(taken, Held):
        typer.echo(f"quarantined as {taken.quarantine_id}: {taken.error} (nixflow mail quarantine list)")
        return
    typer.echo(f"{taken.message_id}: {said(taken)}")


def said(outcome: Outcome) -> str:
    """What became of a mail, in words: "opened ticket 7", "comment on ticket 7 (subject tag)", "dropped: ..."."""
    if outcome.ticket_id is None:
        what = outcome.outcome
    elif outcome.outcome == "ticket":
        what = f"opened ticket {outcome.ticket_id}"
    else:
        what = f"{outcome.outcome} on ticket {outcome.ticket_id}"
    how = f" ({outcome.method})" if outcome.method else ""
    return f"{what}{how}{': ' + outcome.reason if outcome.reason else ''}"


async def _store(settings: Settings, raw: bytes, mail: ParsedMail | Exception, config: IntakeConfig) -> Outcome | Held:
    from nixflow.bootstrap import build, upgrade_database
    from nixflow.email_in.quarantine import take

    await asyncio.to_thread(upgrade_database, settings)
    app = build(settings)
    try:
        return await take(app.writer, raw, mail, source="pipe", config=config)
    finally:
        app.writer.close()
        app.db.dispose()
