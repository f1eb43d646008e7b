"""Links between tickets, as each side sees them. Pure, no I/O.

A link is stored once, as `(from_id, to_id, stored kind)`: `parent` (from is the parent of to), `duplicate`
(from is a duplicate of to), `related` (from is the lower id). Each ticket sees it as one of `LinkKind`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from nixflow.domain.errors import Conflict, ValidationFailed

LinkKind = Literal["parent", "child", "related", "duplicate_of", "duplicated_by"]
LINK_KINDS: tuple[str, ...] = get_args(LinkKind)

# A kind seen from a ticket -> (the stored kind, whether this ticket is the stored `from` side).
_STORED: dict[str, tuple[str, bool]] = {
    "child": ("parent", True),  # the other is my child: I am the parent
    "parent": ("parent", False),
    "duplicate_of": ("duplicate", True),
    "duplicated_by": ("duplicate", False),
}
_SEEN: dict[tuple[str, bool], str] = {stored: kind for kind, stored in _STORED.items()}


@dataclass(frozen=True)
class StoredLink:
    from_id: int
    to_id: int
    kind: str  # parent | duplicate | related


def stored(ticket_id: int, other_id: int, kind: str) -> StoredLink:
    """The row a link asked for from `ticket_id` is kept as; 422 for an unknown kind, 409 for a link to itself
    (valid input that the ticket's identity refuses, as a cycle is)."""
    if kind not in LINK_KINDS:
        raise ValidationFailed(f"unknown link kind {kind!r}", errors=[{"loc": ["body", "kind"], "msg": "unknown"}])
    if ticket_id == other_id:
        raise Conflict(
            "a ticket cannot be linked to itself", errors=[{"loc": ["body", "ticket_id"], "msg": "the ticket itself"}]
        )
    if kind == "related":
        return StoredLink(min(ticket_id, other_id), max(ticket_id, other_id), "related")
    stored_kind, from_side = _STORED[kind]
    return StoredLink(*((ticket_id, other_id) if from_side else (other_id, ticket_id)), stored_kind)


def seen_from(ticket_id: int, link: StoredLink) -> tuple[str, int]:
    """The kind and the other ticket of a stored link, as `ticket_id` (one of its two ends) sees it."""
    from_side = link.from_id == ticket_id
    other = link.to_id if from_side else link.from_id
    return ("related" if link.kind == "related" else _SEEN[(link.kind, from_side)]), other
