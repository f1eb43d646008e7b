"""The ticket state machine and SLA arithmetic, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nixflow.domain import sla
from nixflow.domain.errors import InvalidTransition
from nixflow.domain.tickets import TRANSITIONS, Status, check_transition, status_after_comment
from nixflow.domain.values import Role

ALLOWED = {
    ("new", "open"),
    ("new", "resolved"),
    ("open", "pending"),
    ("pending", "open"),
    ("pending", "resolved"),
    ("open", "resolved"),
    ("resolved", "closed"),
    ("resolved", "open"),
}


@pytest.mark.parametrize("current", list(Status))
@pytest.mark.parametrize("target", list(Status))
def test_only_the_documented_transitions_are_allowed(current: Status, target: Status) -> None:
    if (current.value, target.value) in ALLOWED:
        check_transition(current, target)
    else:
        with pytest.raises(InvalidTransition):
            check_transition(current, target)


def test_closed_is_final() -> None:
    assert TRANSITIONS[Status.CLOSED] == frozenset()


T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
POLICY = sla.Policy(first_response_minutes=60, resolution_minutes=480, warning_percent=80)


def test_due_times_move_by_the_time_spent_paused() -> None:
    clock = sla.Clock(created_at=T0, paused_seconds=0, paused_since=None)
    assert sla.due_at(POLICY, clock, "first_response") == T0 + timedelta(minutes=60)
    paused = sla.Clock(created_at=T0, paused_seconds=1800, paused_since=None)
    assert sla.due_at(POLICY, paused, "resolution") == T0 + timedelta(minutes=480 + 30)
    assert sla.warning_at(POLICY, clock, "first_response") == T0 + timedelta(minutes=48)


def test_next_check_is_the_earliest_open_warning_or_deadline() -> None:
    clock = sla.Clock(created_at=T0, paused_seconds=0, paused_since=None)
    assert sla.next_check(POLICY, clock, {}, None, False) == T0 + timedelta(minutes=48)
    warned = {"warned": ["first_response"]}
    assert sla.next_check(POLICY, clock, warned, None, False) == T0 + timedelta(minutes=60)
    responded = sla.next_check(POLICY, clock, {}, T0 + timedelta(minutes=5), False)
    assert responded == T0 + timedelta(minutes=384)  # 80% of 480
    assert sla.next_check(POLICY, clock, {}, T0, True) is None


def test_a_paused_clock_has_no_next_check() -> None:
    clock = sla.Clock(created_at=T0, paused_seconds=0, paused_since=T0 + timedelta(minutes=10))
    assert sla.next_check(POLICY, clock, {}, None, False) is None
    assert clock.paused_until(T0 + timedelta(minutes=25)) == timedelta(minutes=15)


@pytest.mark.parametrize(
    ("current", "author", "internal", "automatic", "expected"),
    [
        (Status.PENDING, Role.REQUESTER, False, False, Status.OPEN),  # the requester answered
        (Status.RESOLVED, Role.REQUESTER, False, False, Status.OPEN),  # not solved after all
        (Status.RESOLVED, Role.REQUESTER, False, True, None),  # an auto-reply changes nothing
        (Status.PENDING, Role.REQUESTER, False, True, None),
        (Status.NEW, Role.REQUESTER, False, False, None),
        (Status.OPEN, Role.REQUESTER, False, False, None),
        (Status.NEW, Role.AGENT, False, False, Status.OPEN),  # staff's public reply opens a new ticket
        (Status.NEW, Role.ADMIN, False, False, Status.OPEN),
        (Status.NEW, Role.AGENT, True, False, None),  # an internal note does not
        (Status.PENDING, Role.AGENT, False, False, None),  # staff decide the status of what they answer
        (Status.RESOLVED, Role.AGENT, False, False, None),
        (Status.NEW, Role.SYSTEM, False, False, None),
    ],
)
def test_what_a_comment_does_to_the_status(
    current: Status, author: Role, internal: bool, automatic: bool, expected: Status | None
) -> None:
    assert status_after_comment(current, author=author, internal=internal, automatic=automatic) == expected
