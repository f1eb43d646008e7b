"""Which ticket a mail belongs to: a `[#123]` subject tag, then In-Reply-To, then References; a merged ticket's
mail goes to the ticket it was merged into."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, select

from nixflow.email_in.parse import ParsedMail
from nixflow.store.tables import inbound_mail, notifications, tickets

SUBJECT_TAG = re.compile(r"\[#([0-9]{1,15})\]")


@dataclass(frozen=True)
class Match:
    ticket_id: int
    method: str  # subject_tag | in_reply_to | references
    matched: str


def _ticket_of_message(conn: Connection, message_id: str, domain: str) -> int | None:
    """The ticket a Message-ID belongs to: a thread id NixFlow mails refer to, a notification NixFlow sent, or a
    mail NixFlow received."""
    thread = re.fullmatch(rf"<ticket-([0-9]{{1,15}})@{re.escape(domain)}>", message_id, re.IGNORECASE)
    if thread:
        return int(thread.group(1))
    for table in (notifications, inbound_mail):
        found = conn.execute(
            select(table.c.ticket_id).where(table.c.message_id == message_id, table.c.ticket_id.is_not(None)).limit(1)
        ).scalar()
        if found is not None:
            return int(found)
    return None


def candidates(conn: Connection, mail: ParsedMail, domain: str) -> Iterator[Match]:
    """Every ticket the mail may belong to, in the order they count."""
    for tag in SUBJECT_TAG.finditer(mail.subject):
        yield Match(int(tag.group(1)), "subject_tag", tag.group(0))
    for method, ids in (("in_reply_to", mail.in_reply_to), ("references", list(reversed(mail.references)))):
        for message_id in ids:
            ticket_id = _ticket_of_message(conn, message_id, domain)
            if ticket_id is not None:
                yield Match(ticket_id, method, message_id)


MAX_MERGE_HOPS = 20  # a chain of merges (B into A, then A into Z) is followed this far


def exists(conn: Connection, ticket_id: int) -> dict[str, object] | None:
    """The ticket a mail on `ticket_id`'s thread belongs to: that ticket, or the survivor it was merged into."""
    columns = (tickets.c.id, tickets.c.status, tickets.c.requester_id, tickets.c.organization_id, tickets.c.merged_into)
    for _ in range(MAX_MERGE_HOPS):
        row = conn.execute(select(*columns).where(tickets.c.id == ticket_id)).first()
        if row is None or row.merged_into is None:
            return None if row is None else dict(row._mapping)
        ticket_id = int(row.merged_into)
    return None
