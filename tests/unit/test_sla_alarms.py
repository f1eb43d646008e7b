"""SLA alarms without I/O: warning and breach instants, pauses, once per target."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nixflow.domain.sla import Clock, Policy, due_alarms, next_check, reached

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


def test_a_target_reached_late_is_breached_as_it_is_reached_and_only_once() -> None:
    on_time = reached({}, "first_response", at(15), at(15), None)
    assert on_time is not None and on_time.event_type == "sla.met" and on_time.state == {"met": ["first_response"]}
    late = reached({"warned": ["first_response"]}, "first_response", at(15), at(20), None)
    assert late is not None and late.event_type == "sla.breached"
    assert late.data == {"target": "first_response", "due_at": at(15), "met_at": at(20)}
    assert late.state == {"warned": ["first_response"], "breached": ["first_response"]}
    assert reached(late.state, "first_response", at(15), at(21), None) is None  # the job breached it: not twice
    assert reached({"met": ["resolution"]}, "resolution", at(240), at(300), None) is None
    assert reached({}, "resolution", None, at(300), None) is None  # no policy


def test_a_pause_still_running_stopped_the_clock_when_it_began() -> None:
    # Due at 15 (finished pauses counted); paused since 10; reached at 100 while paused: in time.
    paused_in_time = reached({}, "first_response", at(15), at(100), at(10))
    assert paused_in_time is not None and paused_in_time.event_type == "sla.met"
    # Paused only at 20, after the due time had passed unseen (no tick ran): late.
    paused_late = reached({}, "first_response", at(15), at(100), at(20))
    assert paused_late is not None and paused_late.event_type == "sla.breached"
