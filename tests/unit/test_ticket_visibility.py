"""The one rule of who may see a ticket, as a table: viewer by public/internal."""

from __future__ import annotations

import pytest

from nixflow.domain.values import Role
from nixflow.domain.visibility import may_see_ticket

# viewer: (role, requester of the ticket, watches it, active) -> (sees the public side, sees internal notes)
TABLE = {
    "admin": ((Role.ADMIN, False, False, True), (True, True)),
    "agent": ((Role.AGENT, False, False, True), (True, True)),
    "system": ((Role.SYSTEM, False, False, True), (True, True)),
    "requester": ((Role.REQUESTER, True, False, True), (True, False)),
    "watcher (CC)": ((Role.REQUESTER, False, True, True), (True, False)),
    "inactive requester": ((Role.REQUESTER, True, False, False), (False, False)),
    "inactive agent": ((Role.AGENT, False, False, False), (False, False)),
    "stranger": ((Role.REQUESTER, False, False, True), (False, False)),
}


@pytest.mark.parametrize("viewer", list(TABLE))
def test_who_sees_the_public_side_and_the_internal_notes(viewer: str) -> None:
    (role, requester, watcher, active), expected = TABLE[viewer]
    seen = tuple(
        may_see_ticket(role, requester=requester, watches=lambda: watcher, internal=internal, active=active)
        for internal in (False, True)
    )
    assert seen == expected


def test_the_watchers_are_asked_only_when_they_decide() -> None:
    asked: list[str] = []

    def watches() -> bool:
        asked.append("watchers")
        return False

    assert may_see_ticket(Role.AGENT, requester=False, watches=watches)
    assert may_see_ticket(Role.REQUESTER, requester=True, watches=watches)
    assert not may_see_ticket(Role.REQUESTER, requester=False, watches=watches, internal=True)
    assert asked == []
    assert not may_see_ticket(Role.REQUESTER, requester=False, watches=watches)
    assert asked == ["watchers"]
