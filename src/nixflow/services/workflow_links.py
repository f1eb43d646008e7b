"""Deciding a workflow step from the mail's signed link: what the link asks (for the confirmation page), then
the decision itself, as the user the link was made for. A bad, expired or used link decides nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from nixflow.crypto import BadSecret, Keyring
from nixflow.domain.errors import Conflict, ValidationFailed
from nixflow.mailwire import decision_links
from nixflow.services import ticket_workflow, tickets
from nixflow.services.users import Principal, principal_of
from nixflow.store import workflows as rows
from nixflow.store.db import Tx
from nixflow.store.tables import users

REFUSED = "this approval link is not valid: it was altered, has expired, or was never issued"


def _opened(
    conn: Connection, keys: Keyring, signed: str, now: datetime
) -> tuple[decision_links.DecisionLink, Principal]:
    try:
        link = decision_links.opened(keys, signed, now=now)
    except BadSecret:
        raise ValidationFailed(REFUSED, errors=[{"loc": ["body", "token"], "msg": REFUSED}]) from None
    row = conn.execute(select(users).where(users.c.id == link.user_id, users.c.active.is_(True))).first()
    if row is None:
        raise ValidationFailed(REFUSED, errors=[{"loc": ["body", "token"], "msg": REFUSED}])
    return link, principal_of(row)


def _run_asking(conn: Connection, link: decision_links.DecisionLink) -> dict[str, Any]:
    run = rows.run_by_id(conn, link.run_id)
    if run is None or run["status"] != "running" or run["step"] != link.step:
        raise Conflict("this approval link was used already, or its step is decided")
    return run


def preview(conn: Connection, *, keys: Keyring, token: str, now: datetime) -> dict[str, Any]:
    """What the link asks: the ticket, the workflow and step, and who decides; 409 once it can no longer."""
    link, user = _opened(conn, keys, token, now)
    run = _run_asking(conn, link)
    ticket = tickets.load(conn, ticket_id=int(run["ticket_id"]))
    step = run["definition"]["steps"][run["step"]]
    return {
        "ticket_id": run["ticket_id"],
        "ticket_title": ticket["title"],
        "workflow": run["name"],
        "step": run["step"],
        "step_name": step["name"],
        "approver_name": user.name,
    }


def decide(tx: Tx, *, keys: Keyring, token: str, approve: bool, reason: str | None) -> dict[str, Any]:
    """Decide the step the link names, as its user (`via: mail`); refused like any decision once made."""
    link, user = _opened(tx.conn, keys, token, tx.now)
    run = _run_asking(tx.conn, link)
    return ticket_workflow.decide(
        tx, actor=user, ticket_id=int(run["ticket_id"]), approve=approve, reason=reason, via="mail", step=link.step
    )
