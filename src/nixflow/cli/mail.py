"""`nixflow mail receive`: one message on standard input, for an MTA to pipe into.

Exit codes are the MTA's (sysexits.h): 0 stored (or stored before), 65 a message that can never be read,
75 cannot store it now (the MTA keeps it and tries again, so nothing is lost).
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

import typer

from nixflow.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from nixflow.email_in.intake import IntakeConfig, Outcome
    from nixflow.email_in.parse import ParsedMail

mail_cli = typer.Typer(help="Mail into NixFlow.", no_args_is_help=True)

EX_OK, EX_DATAERR, EX_TEMPFAIL = 0, 65, 75


def _say(message: str) -> None:
    typer.echo(f"nixflow mail: {message}", err=True)


@mail_cli.command("receive")
def receive() -> None:
    """Read one RFC 822 message on standard input and store it (a ticket, a comment, or a recorded refusal)."""
    from nixflow.email_in import intake
    from nixflow.email_in.parse import Unreadable, parse

    raw = sys.stdin.buffer.read()
    try:
        settings = load_settings()
    except ConfigError as exc:
        _say(str(exc))
        raise typer.Exit(EX_TEMPFAIL) from None
    config = intake.config_from(settings)
    try:
        mail = parse(raw, own_domain=config.domain)
    except Unreadable as exc:
        _say(f"unreadable message: {exc}")
        raise typer.Exit(EX_DATAERR) from None
    try:
        outcome = asyncio.run(_store(settings, mail, config))
    except Exception as exc:
        _say(f"cannot store the message now, try again later: {type(exc).__name__}: {exc}".splitlines()[0])
        raise typer.Exit(EX_TEMPFAIL) from None
    typer.echo(f"{mail.message_id}: {said(outcome)}")


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


async def _store(settings: Settings, mail: ParsedMail, config: IntakeConfig) -> Outcome:
    from nixflow.bootstrap import build, upgrade_database
    from nixflow.email_in.intake import deliver

    await asyncio.to_thread(upgrade_database, settings)
    app = build(settings)
    try:
        return await deliver(app.writer, mail, config)
    finally:
        app.writer.close()
        app.db.dispose()
