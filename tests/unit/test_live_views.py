"""Live views: staff of one role share a page's view unless an event in it is `personal`."""

from __future__ import annotations

from typing import Any

import pytest

from nixflow.domain.envelope import EventRecord
from nixflow.domain.values import Priority, Role
from nixflow.ids import utcnow, uuid7
from nixflow.live.views import may_see_live, personal
from nixflow.services.users import Principal


def event(
    event_type: str, aggregate: str = "ticket", data: dict[str, Any] | None = None, actor: int = 2
) -> EventRecord:
    return EventRecord(
        event_id=uuid7(), type=event_type, category=event_type.split(".")[0], priority=Priority.NORMAL,
        timestamp=utcnow(), aggregate_type=aggregate, aggregate_id="7", data=data or {"ticket_id": 7},
        metadata={"correlation_id": uuid7(), "actor_id": actor},
    )  # fmt: skip


EVENTS = [
    event("ticket.created"),
    event("ticket.commented", data={"ticket_id": 7, "internal": True}),
    event("sla.breached"),
    event("user.created", "user"),
    event("kb.article_published", "article"),
    event("macro.created", "macro", {"scope": "shared"}),
    event("macro.created", "macro", {"scope": "personal"}),
    event("notification.created", "notification", {"recipient_id": 2, "notification_id": 1}),
    event("notification.read", "notification", {"recipient_id": 3}),
]


@pytest.mark.parametrize("role", [Role.AGENT, Role.ADMIN])
def test_staff_of_one_role_see_alike_every_event_that_is_not_personal(role: Role) -> None:
    one, other = Principal(2, role, "a@example.com", "A"), Principal(3, role, "b@example.com", "B")
    differ = [r for r in EVENTS if may_see_live(one, r, {}) != may_see_live(other, r, {})]
    assert differ, "no event tells two staff members apart: the check below would prove nothing"
    assert all(personal(r) for r in differ)


def test_notifications_and_personal_macros_are_personal() -> None:
    assert [r.type for r in EVENTS if personal(r)] == ["macro.created", "notification.created", "notification.read"]
