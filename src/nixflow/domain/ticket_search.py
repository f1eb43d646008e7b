"""What a ticket search means: free words (all of them), "exact phrases" and `key:value` filters. Pure: no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass

from nixflow.domain import tags
from nixflow.domain.errors import ValidationFailed
from nixflow.domain.kb import Term, parse_query
from nixflow.domain.tickets import OPEN_STATUSES, Status
from nixflow.domain.values import Priority

MAX_QUERY = 1000  # characters: a longer query is refused, not cut
MAX_OFFSET = 10_000  # results deep: rank order has no stable key to seek from, so pages are offsets
FILTER_KEYS = ("status", "priority", "assignee", "category", "requester", "tag", "org")
# A phrase (kept for the words), or `key:value` at the start of a word; a value may be a "quoted phrase".
_PIECE = re.compile(r'"[^"]*"?|(?<!\S)([^\W\d_]+):("[^"]*"?|[^\s"]*)', re.UNICODE)


@dataclass(frozen=True)
class Filters:
    """The filters of a search; None: not filtered on that."""

    statuses: frozenset[Status] | None = None
    priority: Priority | None = None
    assignee: str | None = None  # "me", "none" or an email address
    category: str | None = None  # a category's name
    requester: str | None = None  # an email address
    tag: str | None = None  # a tag (normalised); staff only, as the ticket list's filter
    organization: str | None = None  # an organization's name (`org:`)


@dataclass(frozen=True)
class TicketQuery:
    terms: list[Term]
    filters: Filters


class SearchRefused(ValidationFailed):
    """A search that cannot be read. `detail` is the API's (English); `reason` and `values` let a page say it in
    its reader's language."""

    def __init__(self, detail: str, reason: str, **values: str | int) -> None:
        super().__init__(detail)
        self.reason = reason
        self.values = values


def _statuses(value: str) -> frozenset[Status]:
    if value == "open":  # as the queue's "open" view: anything not resolved or closed
        return frozenset(OPEN_STATUSES)
    try:
        return frozenset({Status(value)})
    except ValueError:
        known = ", ".join(("open", *Status))
        raise SearchRefused(f"status:{value} is not a status ({known})", "status", value=value, known=known) from None


def _priority(value: str) -> Priority:
    try:
        return Priority(value)
    except ValueError:
        known = ", ".join(Priority)
        raise SearchRefused(
            f"priority:{value} is not a priority ({known})", "priority", value=value, known=known
        ) from None


def parse_ticket_query(text: str) -> TicketQuery:
    """The terms and filters of `text`; an unknown filter key or a bad value is a ValidationFailed naming it."""
    if len(text) > MAX_QUERY:
        raise SearchRefused(f"the search is longer than {MAX_QUERY} characters", "too_long", max=MAX_QUERY)
    found: dict[str, str] = {}
    words: list[str] = []
    last = 0
    for match in _PIECE.finditer(text):
        key, value = match.groups()
        if key is None:
            continue
        words.append(text[last : match.start()])
        last = match.end()
        key = key.lower()
        if key not in FILTER_KEYS:
            known = ", ".join(FILTER_KEYS)
            raise SearchRefused(
                f"unknown search filter '{key}' (known: {known})", "unknown_filter", key=key, known=known
            )
        value = value.strip('"').strip()
        if not value:
            raise SearchRefused(f"the search filter '{key}' needs a value", "empty_filter", key=key)
        found[key] = value.lower() if key not in ("category", "org") else value
    words.append(text[last:])
    filters = Filters(
        statuses=_statuses(found["status"]) if "status" in found else None,
        priority=_priority(found["priority"]) if "priority" in found else None,
        assignee=found.get("assignee"),
        category=found.get("category"),
        requester=found.get("requester"),
        tag=tags.normalise(found["tag"]) if "tag" in found else None,
        organization=found.get("org"),
    )
    return TicketQuery(terms=parse_query(" ".join(words)), filters=filters)
