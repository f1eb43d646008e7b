"""SLA alarms without I/O: warning and breach instants, pauses, once per target."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nixflow.domain.sla import Clock, Policy, due_alarms, next_check

T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
CRITICAL = Policy(15, 240, 80)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_warning_then_breach_then_nothing() -> None:
    clock = Clock(T0, 0, None)
    assert next_check(CRITICAL, clock, {}, None, False) == at(12)
    alarms, state = due_alarms(CRITICAL, clock, {}, None, False, at(12))
    assert [(a.kind, a.target) for a in alarms] == [("warning", "first_response")]
    assert next_check(CRITICAL, clock, state, None, False) == at(15)
    alarms, state = due_alarms(CRITICAL, clock, state, None, False, at(15))
    assert [(a.kind, a.target) for a in alarms] == [("breached", "first_response")]
    assert due_alarms(CRITICAL, clock, state, None, False, at(16))[0] == []
    assert next_check(CRITICAL, clock, state, None, False) == at(192)


def test_paused_clock_fires_nothing_and_resumed_clock_is_shifted() -> None:
    assert due_alarms(CRITICAL, Clock(T0, 0, at(5)), {}, None, False, at(100)) == ([], {})
    assert next_check(CRITICAL, Clock(T0, 0, at(5)), {}, None, False) is None
    resumed = Clock(T0, 25 * 60, None)
    assert next_check(CRITICAL, resumed, {}, None, False) == at(37)
    alarms, _ = due_alarms(CRITICAL, resumed, {}, None, False, at(36))
    assert alarms == []


def test_met_targets_are_done() -> None:
    clock = Clock(T0, 0, None)
    alarms, _ = due_alarms(CRITICAL, clock, {}, at(3), True, at(1000))
    assert alarms == []
    assert next_check(CRITICAL, clock, {}, at(3), True) is None
