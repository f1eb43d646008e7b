"""The ticket page's conversation: comments in order, each field change folded in as one quiet line saying who
(a person, or a rule for staff) did what. The raw event log stays on the page below it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nixflow.domain.envelope import EventRecord
from nixflow.services import visibility
from nixflow.web import lookups


@dataclass(frozen=True)
class Line:
    """One change in words: `who` (a person, "NixFlow", or the rule when `rule` is set) `what`."""

    event_id: str
    who: str
    what: str
    rule: bool = False
    href: str | None = None  # what the line names, to open (a file attached to the ticket)


@dataclass(frozen=True)
class Entry:
    """A comment or a change line of the thread."""

    at: datetime
    comment: dict[str, Any] | None = None
    line: Line | None = None


Words = Callable[[Mapping[str, Any]], str | None]


def _named(names: Mapping[int, str], user_id: Any) -> str:
    return names.get(user_id, f"#{user_id}") if isinstance(user_id, int) else "nobody"


def _edited(names: Mapping[int, str], data: Mapping[str, Any]) -> str | None:
    said = []
    for field, change in (data.get("changes") or {}).items():
        if field == "title":
            said.append(f"changed the title to “{change['new']}”")
        elif field == "description":
            said.append("edited the description")
        elif field == "requester_id":
            said.append(f"changed the requester to {_named(names, change['new'])}")
    return " and ".join(said) or None


def _words(names: Mapping[int, str], categories: Mapping[int, str]) -> dict[str, Words]:
    """What each kind of change says; event types not listed here are not folded into the thread."""
    return {
        "ticket.created": lambda d: "opened the ticket",
        "ticket.updated": lambda d: _edited(names, d),
        "ticket.status_changed": lambda d: f"set status to {d['new_status']}",
        "ticket.priority_changed": lambda d: f"set priority to {d['new_priority']}",
        "ticket.assigned": lambda d: (
            "unassigned the ticket" if d.get("assignee_id") is None else f"assigned {_named(names, d['assignee_id'])}"
        ),
        "ticket.category_changed": lambda d: (
            "cleared the category"
            if d.get("new_category_id") is None
            else f"set category to {categories.get(d['new_category_id'], '#' + str(d['new_category_id']))}"
        ),
        "ticket.approved": lambda d: "approved the ticket",
        "ticket.rejected": lambda d: "rejected the ticket",
        "ticket.escalated": lambda d: f"escalated the ticket to level {d['level']}",
        "ticket.tagged": lambda d: f"tagged it {', '.join(d['tags'])}",
        "ticket.untagged": lambda d: f"removed the tag {', '.join(d['tags'])}",
        "ticket.watcher_added": lambda d: f"added {_named(names, d['watcher_id'])} as a watcher",
        "ticket.watcher_removed": lambda d: f"removed {_named(names, d['watcher_id'])} from the watchers",
        "ticket.merged": lambda d: (
            f"merged this ticket into #{d['target_id']}"
            if d["ticket_id"] == d["source_id"]
            else f"merged #{d['source_id']} into this ticket"
        ),
        "ticket.split": lambda d: f"split a comment off into #{d['new_ticket_id']}",
        "ticket.linked": lambda d: f"linked #{d['other_id']} ({d['kind'].replace('_', ' ')})",
        "ticket.unlinked": lambda d: f"removed the link to #{d['other_id']}",
        # A comment's files are shown with the comment; a file on the ticket itself gets its own line.
        "ticket.attachment_added": lambda d: None if d.get("comment_id") else f"attached {d['filename']}",
    }


def _line(record: EventRecord, said: str, *, names: Mapping[int, str], rules: Mapping[int, str], staff: bool) -> Line:
    """Who made the change: for staff the rule that did, else the person; a requester sees a person's name only
    when that person made the change themselves (`visibility.by_person`), never a rule."""
    rule = lookups.caused_by_rule(record, dict(rules)) if staff else None
    file = record.data.get("attachment_id") if record.type == "ticket.attachment_added" else None
    href = f"/api/attachments/{file}" if isinstance(file, int) else None
    if rule is not None:
        return Line(record.event_id, rule, said, rule=True, href=href)
    person = record.actor_id if (staff or visibility.by_person(record)) else None
    who = names.get(person, f"#{person}") if person is not None and person != 0 else "NixFlow"
    return Line(record.event_id, who, said, href=href)


def thread(
    comments: Sequence[dict[str, Any]],
    records: Sequence[EventRecord],
    *,
    names: Mapping[int, str],
    categories: Mapping[int, str],
    rules: Mapping[int, str],
    staff: bool,
) -> list[Entry]:
    """The comments and the change lines of `records` (what the viewer may see), in the order they happened:
    a comment where its `ticket.commented` event is, a held mail (which has none) at its time."""
    words = _words(names, categories)
    placed: list[tuple[datetime, int, Entry]] = []
    position = {r.data.get("comment_id"): i for i, r in enumerate(records) if r.type == "ticket.commented"}
    for c in comments:
        placed.append((c["created_at"], position.get(c["id"], -1), Entry(c["created_at"], comment=c)))
    for i, r in enumerate(records):
        say = words.get(r.type)
        said = say(r.data) if say else None
        if said:
            line = _line(r, said, names=names, rules=rules, staff=staff)
            placed.append((r.timestamp, i, Entry(r.timestamp, line=line)))
    placed.sort(key=lambda p: (p[0], p[1]))
    return [entry for _, _, entry in placed]
