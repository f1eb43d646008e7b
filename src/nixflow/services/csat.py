"""Satisfaction surveys: a ticket's requester answers (good or bad, and a comment) from the mail's signed link
or from the ticket page; one answer per ticket, changeable for `csat.CHANGE_DAYS`. Agents never answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from nixflow.crypto import Keyring
from nixflow.domain import csat
from nixflow.domain.csat import InvalidSurveyLink, Rating
from nixflow.domain.errors import Conflict, Forbidden, NotFound
from nixflow.domain.values import Priority
from nixflow.mailwire import survey_links
from nixflow.services import tickets
from nixflow.services.users import Principal
from nixflow.store.db import Tx
from nixflow.store.tables import csat_answers


def answer_of(conn: Connection, ticket_id: int) -> dict[str, Any] | None:
    """The ticket's survey answer as stored, or None."""
    row = conn.execute(select(csat_answers).where(csat_answers.c.ticket_id == ticket_id)).first()
    return None if row is None else dict(row._mapping)


def survey(
    conn: Connection, ticket: dict[str, Any], *, now: datetime, viewer: Principal | None = None
) -> dict[str, Any]:
    """A ticket's survey as its requester and the staff see it (`CsatSurvey`). A colleague the ticket is shared with
    (`viewer`, neither staff nor its requester) sees no answer and cannot give one: it is the requester's."""
    private = viewer is not None and not viewer.is_staff and viewer.id != ticket["requester_id"]
    found = None if private else answer_of(conn, int(ticket["id"]))
    answered_at = None if found is None else found["answered_at"]
    open_ = ticket["status"] in csat.SURVEYED_STATUSES and not private
    return {
        "ticket_id": ticket["id"],
        "title": ticket["title"],
        "status": ticket["status"],
        "rating": None if found is None else found["rating"],
        "comment": None if found is None else found["comment"],
        "answered_at": answered_at,
        "changed_at": None if found is None else found["changed_at"],
        "changeable_until": None if answered_at is None else csat.changeable_until(answered_at),
        "can_answer": open_ and (answered_at is None or now <= csat.changeable_until(answered_at)),
    }


def check_link(conn: Connection, keys: Keyring, token: str, *, now: datetime) -> dict[str, Any]:
    """The ticket a survey link is for; InvalidSurveyLink (400) when it is malformed, tampered with, expired, or
    its ticket has another requester now."""
    link = survey_links.read(keys, token)
    if link is None:
        raise InvalidSurveyLink("this survey link is not valid")
    if now > link.expires_at:
        raise InvalidSurveyLink(f"this survey link expired on {link.expires_at:%Y-%m-%d}")
    try:
        ticket = tickets.load(conn, ticket_id=link.ticket_id)
    except NotFound:
        raise InvalidSurveyLink("this survey link is not valid") from None
    if int(ticket["requester_id"]) != link.requester_id:
        raise InvalidSurveyLink("this survey link is not valid")
    return ticket


def caller_may_answer(caller: Principal | None, requester_id: int) -> None:
    """A signed-in caller answers only their own survey: agents never answer for requesters (403)."""
    if caller is not None and caller.id != requester_id:
        raise Forbidden("only the ticket's requester answers its survey")


def answer_by_link(
    tx: Tx, *, keys: Keyring, token: str, caller: Principal | None, rating: Rating, comment: str | None
) -> dict[str, Any]:
    """Answer (or change the answer to) the survey a signed link names."""
    ticket = check_link(tx.conn, keys, token, now=tx.now)
    caller_may_answer(caller, int(ticket["requester_id"]))
    return _answer(tx, ticket, rating=rating, comment=comment, via="link")


def answer_on_page(tx: Tx, *, actor: Principal, ticket_id: int, rating: Rating, comment: str | None) -> dict[str, Any]:
    """The signed-in requester answers their ticket's survey; another's ticket is 404, staff 403."""
    if actor.is_staff:
        raise Forbidden("agents may not answer a survey for the requester")
    ticket = tickets.load(tx.conn, ticket_id=ticket_id, viewer=actor)
    caller_may_answer(actor, int(ticket["requester_id"]))
    return _answer(tx, ticket, rating=rating, comment=comment, via="page")


def _answer(tx: Tx, ticket: dict[str, Any], *, rating: Rating, comment: str | None, via: str) -> dict[str, Any]:
    if ticket["status"] not in csat.SURVEYED_STATUSES:
        raise Conflict(f"ticket {ticket['id']} is {ticket['status']}: a survey is answered once it is resolved")
    before = answer_of(tx.conn, int(ticket["id"]))
    csat.check_change(None if before is None else before["answered_at"], tx.now)
    text = (comment or "").strip() or None
    if before is None:
        tx.conn.execute(
            insert(csat_answers).values(
                ticket_id=ticket["id"],
                requester_id=ticket["requester_id"],
                rating=rating,
                comment=text,
                answered_at=tx.now,
                assignee_id=ticket["assignee_id"],
                category_id=ticket["category_id"],
                organization_id=ticket["organization_id"],
            )
        )
    else:
        tx.conn.execute(
            update(csat_answers)
            .where(csat_answers.c.ticket_id == ticket["id"])
            .values(rating=rating, comment=text, changed_at=tx.now)
        )
    tx.emit(
        "csat.received",
        aggregate_type="ticket",
        aggregate_id=ticket["id"],
        priority=Priority(ticket["priority"]),
        data={
            "ticket_id": ticket["id"],
            "requester_id": ticket["requester_id"],
            "rating": rating,
            "comment": text,
            "changed": before is not None,
            "previous_rating": None if before is None else before["rating"],
            "via": via,
        },
    )
    return survey(tx.conn, ticket, now=tx.now)
