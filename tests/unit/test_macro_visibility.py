"""Who sees a reply or macro (`domain.macros`), and who hears of its changes live (`services.visibility`)."""

from __future__ import annotations

from datetime import UTC, datetime

from nixflow.domain.envelope import EventRecord
from nixflow.domain.macros import Scope, changes_on, may_change, may_see
from nixflow.domain.values import Priority, Role
from nixflow.services.users import Principal
from nixflow.services.visibility import may_see as may_see_event

ANN = Principal(id=1, role=Role.AGENT, email="ann@example.com", name="Ann")
BOB = Principal(id=2, role=Role.AGENT, email="bob@example.com", name="Bob")
ADA = Principal(id=3, role=Role.ADMIN, email="ada@example.com", name="Ada")


def _item(scope: str, owner_id: int = ANN.id, category_id: int | None = None) -> dict[str, object]:
    return {"scope": scope, "owner_id": owner_id, "category_id": category_id}


def test_personal_is_the_owners_team_its_agents_and_admins_everyone_all_staff() -> None:
    def sees(user: Principal, item: dict[str, object], teams: frozenset[int] = frozenset()) -> bool:
        return may_see(role=user.role, user_id=user.id, categories=teams, item=item)

    assert sees(ANN, _item("personal")) and not sees(BOB, _item("personal")) and not sees(ADA, _item("personal"))
    assert sees(BOB, _item("team", category_id=5), frozenset({5})) and not sees(BOB, _item("team", category_id=5))
    assert sees(ADA, _item("team", category_id=5))
    assert all(sees(u, _item("everyone")) for u in (ANN, BOB, ADA))
    assert not may_see(role=Role.REQUESTER, user_id=9, categories=frozenset(), item=_item("everyone", owner_id=9))
    assert may_change(role=Role.AGENT, user_id=ANN.id, scope=Scope.PERSONAL, owner_id=ANN.id)
    assert not may_change(role=Role.AGENT, user_id=ANN.id, scope=Scope.TEAM, owner_id=ANN.id)
    assert may_change(role=Role.ADMIN, user_id=ADA.id, scope=Scope.EVERYONE, owner_id=ANN.id)


def _event(scope: str) -> EventRecord:
    data = {"macro_id": 1, "kind": "reply", "name": "x", "scope": scope, "category_id": None}
    meta = {"correlation_id": "c", "actor_id": ANN.id, "source": "api"}
    return EventRecord("e1", "macro.created", "macro", Priority.NORMAL, datetime.now(UTC), "macro", "1", data, meta)


def test_a_personal_ones_events_reach_its_owner_only() -> None:
    assert may_see_event(ANN, _event("personal"), None)
    assert not may_see_event(BOB, _event("personal"), None) and not may_see_event(ADA, _event("personal"), None)
    assert may_see_event(BOB, _event("everyone"), None)


def test_changes_on_names_only_what_would_move() -> None:
    ticket = {"status": "open", "priority": "high", "assignee_id": None, "category_id": 2, "tags": ["vpn"]}
    actions = {"status": "open", "priority": "low", "assignee_id": 4, "add_tags": ["vpn", "new"], "remove_tags": ["x"]}
    assert changes_on(ticket, actions) == {
        "priority": {"old": "high", "new": "low"},
        "assignee_id": {"old": None, "new": 4},
        "add_tags": ["new"],
    }
