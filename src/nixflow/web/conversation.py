"""The ticket page's conversation: comments in order, each field change folded in as one quiet line saying who
(a person, or a rule for staff) did what, as one sentence in the reader's language. The raw event log stays on the
page below it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from babel.lists import format_list
from markupsafe import Markup

from nixflow.domain.envelope import EventRecord
from nixflow.i18n import N_, Translator
from nixflow.services import visibility
from nixflow.web import lookups


@dataclass(frozen=True)
class Line:
    """One change as a sentence (`said`, with its `who` marked up): who is a person, "NixFlow", or the rule."""

    event_id: str
    said: Markup


@dataclass(frozen=True)
class Said:
    """What a change says before it is put in words: an English sentence with `%(who)s` and its values; with
    `href`, a clause without `%(who)s` that links to what it names (a file attached to the ticket)."""

    message: str
    values: Mapping[str, Any]
    href: str | None = None


@dataclass(frozen=True)
class Entry:
    """A comment or a change line of the thread."""

    at: datetime
    comment: dict[str, Any] | None = None
    line: Line | None = None


Words = Callable[[Mapping[str, Any]], Said | None]

# The ticket's own values named in a change line (statuses, priorities, link kinds): the value is the English label.
VALUE_LABELS = (
    *(N_("new"), N_("open"), N_("pending"), N_("resolved"), N_("closed")),
    *(N_("low"), N_("normal"), N_("high"), N_("critical")),
    *(N_("parent"), N_("child"), N_("related"), N_("duplicate of"), N_("duplicated by")),
)
EDITS = {
    "title": N_("changed the title to “%(title)s”"),
    "description": N_("edited the description"),
    "requester_id": N_("changed the requester to %(name)s"),
}


def _named(names: Mapping[int, str], user_id: Any, tr: Translator) -> str:
    return names.get(user_id, f"#{user_id}") if isinstance(user_id, int) else tr.gettext("nobody")


def _edited(names: Mapping[int, str], data: Mapping[str, Any], tr: Translator) -> Said | None:
    """The fields of one edit, listed the language's way ("a, b and c")."""
    said = []
    for field, change in (data.get("changes") or {}).items():
        if field in EDITS:
            values = {"title": change["new"], "name": _named(names, change["new"], tr)}
            said.append(tr.gettext(EDITS[field]) % values)
    if not said:
        return None
    return Said(N_("%(who)s %(changes)s"), {"changes": format_list(said, locale=tr.locale)})


def _words(names: Mapping[int, str], categories: Mapping[int, str], tr: Translator) -> dict[str, Words]:
    """What each kind of change says; event types not listed here are not folded into the thread."""

    def person(user_id: Any) -> str:
        return _named(names, user_id, tr)

    def tags(d: Mapping[str, Any]) -> str:
        return format_list(list(d["tags"]), locale=tr.locale)

    return {
        "ticket.created": lambda d: Said(N_("%(who)s opened the ticket"), {}),
        "ticket.updated": lambda d: _edited(names, d, tr),
        "ticket.status_changed": lambda d: Said(
            N_("%(who)s set status to %(status)s"), {"status": tr.gettext(d["new_status"])}
        ),
        "ticket.priority_changed": lambda d: Said(
            N_("%(who)s set priority to %(priority)s"), {"priority": tr.gettext(d["new_priority"])}
        ),
        "ticket.assigned": lambda d: (
            Said(N_("%(who)s unassigned the ticket"), {})
            if d.get("assignee_id") is None
            else Said(N_("%(who)s assigned %(name)s"), {"name": person(d["assignee_id"])})
        ),
        "ticket.category_changed": lambda d: (
            Said(N_("%(who)s cleared the category"), {})
            if d.get("new_category_id") is None
            else Said(
                N_("%(who)s set category to %(category)s"),
                {"category": categories.get(d["new_category_id"], f"#{d['new_category_id']}")},
            )
        ),
        "ticket.approved": lambda d: Said(N_("%(who)s approved the ticket"), {}),
        "ticket.rejected": lambda d: Said(N_("%(who)s rejected the ticket"), {}),
        "ticket.escalated": lambda d: Said(
            N_("%(who)s escalated the ticket to level %(level)s"), {"level": d["level"]}
        ),
        "ticket.tagged": lambda d: Said(N_("%(who)s tagged it %(tags)s"), {"tags": tags(d)}),
        "ticket.untagged": lambda d: Said(N_("%(who)s removed the tag %(tags)s"), {"tags": tags(d)}),
        "ticket.watcher_added": lambda d: Said(
            N_("%(who)s added %(name)s as a watcher"), {"name": person(d["watcher_id"])}
        ),
        "ticket.watcher_removed": lambda d: Said(
            N_("%(who)s removed %(name)s from the watchers"), {"name": person(d["watcher_id"])}
        ),
        "ticket.merged": lambda d: (
            Said(N_("%(who)s merged this ticket into #%(id)s"), {"id": d["target_id"]})
            if d["ticket_id"] == d["source_id"]
            else Said(N_("%(who)s merged #%(id)s into this ticket"), {"id": d["source_id"]})
        ),
        "ticket.split": lambda d: Said(N_("%(who)s split a comment off into #%(id)s"), {"id": d["new_ticket_id"]}),
        "ticket.linked": lambda d: Said(
            N_("%(who)s linked #%(id)s (%(kind)s)"), {"id": d["other_id"], "kind": tr.gettext(_kind(d["kind"]))}
        ),
        "ticket.unlinked": lambda d: Said(N_("%(who)s removed the link to #%(id)s"), {"id": d["other_id"]}),
        # A comment's files are shown with the comment; a file on the ticket itself gets its own line.
        "ticket.attachment_added": lambda d: None if d.get("comment_id") else _attached(d),
    }


def _attached(data: Mapping[str, Any]) -> Said:
    """A file attached to the ticket itself: a line that opens it (a file of an older event may have no id)."""
    values = {"filename": data["filename"]}
    file = data.get("attachment_id")
    if isinstance(file, int):
        return Said(N_("attached %(filename)s"), values, f"/api/attachments/{file}")
    return Said(N_("%(who)s attached %(filename)s"), values)


def _kind(kind: str) -> str:
    return kind.replace("_", " ")


def _line(
    record: EventRecord, said: Said, *, names: Mapping[int, str], rules: Mapping[int, str], staff: bool, tr: Translator
) -> Line:
    """Who made the change: for staff the rule that did, else the person; a requester sees a person's name only
    when that person made the change themselves (`visibility.by_person`), never a rule. A file attached to the
    ticket is a link to open it."""
    rule = lookups.caused_by_rule(record, dict(rules)) if staff else None
    if rule is not None:
        named = Markup(tr.gettext("Rule %(rule)s")) % {"rule": Markup('<em class="rule">%s</em>') % rule}
    else:
        person = record.actor_id if (staff or visibility.by_person(record)) else None
        named = Markup("%s") % (names.get(person, f"#{person}") if person is not None and person != 0 else "NixFlow")
    who = Markup('<span class="who">%s</span>') % named
    if said.href is None:
        return Line(record.event_id, Markup(tr.gettext(said.message)) % {**said.values, "who": who})
    link = Markup('<a href="%s" download>%s</a>') % (said.href, tr.gettext(said.message) % said.values)
    return Line(record.event_id, Markup(tr.gettext("%(who)s %(changes)s")) % {"who": who, "changes": link})


def thread(
    comments: Sequence[dict[str, Any]],
    records: Sequence[EventRecord],
    *,
    names: Mapping[int, str],
    categories: Mapping[int, str],
    rules: Mapping[int, str],
    staff: bool,
    tr: Translator,
) -> list[Entry]:
    """The comments and the change lines of `records` (what the viewer may see), in the order they happened:
    a comment where its `ticket.commented` event is, a held mail (which has none) at its time."""
    words = _words(names, categories, tr)
    placed: list[tuple[datetime, int, Entry]] = []
    position = {r.data.get("comment_id"): i for i, r in enumerate(records) if r.type == "ticket.commented"}
    for c in comments:
        placed.append((c["created_at"], position.get(c["id"], -1), Entry(c["created_at"], comment=c)))
    for i, r in enumerate(records):
        say = words.get(r.type)
        said = say(r.data) if say else None
        if said:
            line = _line(r, said, names=names, rules=rules, staff=staff, tr=tr)
            placed.append((r.timestamp, i, Entry(r.timestamp, line=line)))
    placed.sort(key=lambda p: (p[0], p[1]))
    return [entry for _, _, entry in placed]
