"""Erasing a person (issue 28): what their data becomes, in the tables and in the event log's payloads.

Pure: `services/erasure.py` reads what the person wrote and where, builds an `Erasure`, and writes back what it
answers. The text they wrote (their comments, the tickets they asked: title, description and every comment, the
names of those files, mail they sent) becomes `ERASED`; their name and address, wherever else they are written,
become their pseudonyms. An event keeps its type, keys and ids (its shape), so consumers, replays and time travel
read it as before and fold to the same state as the erased rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

ERASED = "[erased]"

Scope = Literal["ticket", "comment", "attachment", "mail", "quarantine", "actor"]
# Per event type: the fields of its data holding text a person wrote (dotted paths), and what decides whether
# they are the erased person's: the ticket (one they asked), the comment, file, mail or quarantined mail named
# (one erased), or the event's actor (the person).
CONTENT: dict[str, tuple[Scope, tuple[str, ...]]] = {
    "ticket.created": ("ticket", ("title", "description")),
    "ticket.updated": (
        "ticket",
        ("changes.title.old", "changes.title.new", "changes.description.old", "changes.description.new"),
    ),
    "csat.received": ("ticket", ("comment",)),
    "ticket.commented": ("comment", ("body",)),
    "ticket.attachment_added": ("attachment", ("filename",)),
    "email.received": ("mail", ("subject",)),
    "email.threaded": ("mail", ("skipped_files",)),
    "email.quarantined": ("quarantine", ("subject",)),
    "kb.article_suggested": ("actor", ("query",)),
    "kb.ticket_deflected": ("actor", ("query",)),
    "kb.feedback_received": ("actor", ("comment",)),
    "ticket.approved": ("actor", ("reason",)),
    "ticket.rejected": ("actor", ("reason",)),
    "workflow.decided": ("actor", ("reason",)),
    "ticket.time_logged": ("actor", ("note",)),
    "ticket.time_entry_changed": ("actor", ("note",)),
    "ticket.time_entry_deleted": ("actor", ("note",)),
}
# The field of the data naming what a scope is decided by (the actor is the event's own).
_NAMED_BY: dict[Scope, str] = {
    "ticket": "ticket_id",
    "comment": "comment_id",
    "attachment": "attachment_id",
    "mail": "inbound_id",
    "quarantine": "quarantine_id",
}


def pseudonym(user_id: int) -> str:
    """The name an erased person is shown by."""
    return f"Erased user {user_id}"


def pseudonym_email(user_id: int) -> str:
    """The address an erased person's row holds: unique, and of a domain that never receives mail (RFC 2606)."""
    return f"erased-{user_id}@erased.invalid"


@dataclass(frozen=True)
class Erasure:
    """One person's erasure: who, and the ids of everything of theirs whose text goes."""

    user_id: int
    name: str
    email: str
    tickets: frozenset[int] = frozenset()  # they asked: title, description, every comment and file
    comments: frozenset[int] = frozenset()  # theirs, and every comment of `tickets`
    attachments: frozenset[int] = frozenset()  # they uploaded, or on `tickets`
    mails: frozenset[int] = frozenset()  # `inbound_mail` from them or on `tickets`
    quarantined: frozenset[int] = frozenset()  # `mail_quarantine` from them or on `tickets`

    def _needles(self) -> list[tuple[re.Pattern[str], str]]:
        found = [(re.compile(re.escape(self.email), re.IGNORECASE), pseudonym_email(self.user_id))]
        if self.name.strip():
            name = re.compile(rf"(?<!\w){re.escape(self.name.strip())}(?!\w)", re.IGNORECASE)
            found.append((name, pseudonym(self.user_id)))
        return found

    def text(self, value: str) -> str:
        """`value` with the person's address and name (as a whole word, any case) replaced by their pseudonyms."""
        for needle, replacement in self._needles():
            value = needle.sub(replacement, value)
        return value

    def json(self, value: Any) -> Any:
        """A JSON value with `text` applied to every string in it, keys excepted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(item) for item in value]
        if isinstance(value, dict):
            return {key: self.json(item) for key, item in value.items()}
        return value

    def notification_title(self, title: str, ticket_id: int | None) -> str:
        """A notification's title ("What: #12 <the ticket's title>") without the title of a ticket they asked."""
        marker = f"#{ticket_id} "
        if ticket_id not in self.tickets or marker not in title:
            return self.text(title)
        return self.text(title[: title.index(marker) + len(marker)]) + ERASED

    def _owns(self, scope: Scope, data: Mapping[str, Any], actor_id: int | None) -> bool:
        if scope == "actor":
            return actor_id == self.user_id
        named = data.get(_NAMED_BY[scope])
        ids = {
            "ticket": self.tickets,
            "comment": self.comments,
            "attachment": self.attachments,
            "mail": self.mails,
            "quarantine": self.quarantined,
        }[scope]
        return isinstance(named, int) and named in ids

    def event_data(self, event_type: str, data: Mapping[str, Any], actor_id: int | None) -> tuple[dict[str, Any], bool]:
        """The event's data with the person's data erased, and whether text they wrote was erased in it (not
        only their name or address); its keys and every other value stay as they were."""
        out: dict[str, Any] = self.json(dict(data))
        if event_type == "notification.created":
            out["title"] = self.notification_title(str(data["title"]), data.get("ticket_id"))
        rule = CONTENT.get(event_type)
        if rule is None or not self._owns(rule[0], data, actor_id):
            return out, False
        erased = False
        for path in rule[1]:
            *parents, last = path.split(".")
            holder: Any = out
            for key in parents:
                holder = holder.get(key) if isinstance(holder, dict) else None
            value = holder.get(last) if isinstance(holder, dict) else None
            if isinstance(value, str) and value:
                holder[last] = ERASED
                erased = True
            elif isinstance(value, list) and value:  # names of files a mail brought (`skipped_files`)
                holder[last] = [ERASED] * len(value)
                erased = True
        return out, erased
