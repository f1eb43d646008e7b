"""Links as each side sees them, and the merge pointer on the aggregate, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nixflow.domain.errors import Conflict, ValidationFailed
from nixflow.domain.relations import LINK_KINDS, StoredLink, seen_from, stored
from nixflow.domain.ticket import Change, Ticket

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
OTHER_SIDE = {
    "parent": "child",
    "child": "parent",
    "related": "related",
    "duplicate_of": "duplicated_by",
    "duplicated_by": "duplicate_of",
}


@pytest.mark.parametrize("kind", LINK_KINDS)
@pytest.mark.parametrize(("mine", "other"), [(3, 9), (9, 3)])
def test_a_link_is_one_row_read_from_both_sides(kind: str, mine: int, other: int) -> None:
    link = stored(mine, other, kind)
    assert link == stored(other, mine, OTHER_SIDE[kind])  # asked from either side, kept the same way
    assert seen_from(mine, link) == (kind, other)
    assert seen_from(other, link) == (OTHER_SIDE[kind], mine)


def test_parent_and_duplicate_rows_point_from_the_parent_and_the_duplicate() -> None:
    assert stored(5, 2, "child") == StoredLink(5, 2, "parent")
    assert stored(5, 2, "duplicate_of") == StoredLink(5, 2, "duplicate")
    assert stored(5, 2, "related") == StoredLink(2, 5, "related")


def test_a_link_to_itself_or_of_an_unknown_kind_is_refused() -> None:
    with pytest.raises(Conflict):
        stored(4, 4, "related")
    with pytest.raises(ValidationFailed):
        stored(4, 5, "sibling")


def _ticket(ticket_id: int) -> Ticket:
    data = {"ticket_id": ticket_id, "title": "t", "description": "d", "status": "new", "priority": "normal"}
    return Ticket.start(Change("ticket.created", {**data, "requester_id": 1, "approval": "not_required"}, T0, 1))


def test_merged_points_the_source_to_the_survivor_and_leaves_the_survivor_as_it_was() -> None:
    data = {"source_id": 2, "target_id": 1, "comments": 0, "attachments": 0, "watchers": 0}
    source = _ticket(2).apply(Change("ticket.merged", {"ticket_id": 2, **data}, T0, 2))
    survivor = _ticket(1).apply(Change("ticket.merged", {"ticket_id": 1, **data}, T0, 2))
    assert (source.merged_into, source.version) == (1, 2)
    assert (survivor.merged_into, survivor.version) == (None, 2)
