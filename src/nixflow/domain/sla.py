"""SLA arithmetic: due times, pauses, warning points. Pure functions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from nixflow.domain.calendars import ALWAYS, BusinessClock

TARGETS = ("first_response", "resolution")


@dataclass(frozen=True)
class Policy:
    first_response_minutes: int
    resolution_minutes: int
    warning_percent: int
    calendar_id: int | None = None  # business hours; None: the category's calendar, else 24/7

    def minutes(self, target: str) -> int:
        return self.first_response_minutes if target == "first_response" else self.resolution_minutes


@dataclass(frozen=True)
class Clock:
    """A ticket's SLA clock: when it started, how long it has been paused so far (in the business time of
    `hours`: wall time for the default 24/7), and the business hours it counts in."""

    created_at: datetime
    paused_seconds: int
    paused_since: datetime | None
    hours: BusinessClock = ALWAYS

    def paused_until(self, now: datetime) -> timedelta:
        """Total pause, counting an ongoing one up to `now`."""
        ongoing = self.hours.elapsed(self.paused_since, now) if self.paused_since else timedelta()
        return timedelta(seconds=self.paused_seconds) + ongoing


def due_at(policy: Policy, clock: Clock, target: str) -> datetime:
    """When `target` is due, given the pauses finished so far: its minutes plus the pauses, in business time."""
    span = timedelta(minutes=policy.minutes(target), seconds=clock.paused_seconds)
    return clock.hours.advance(clock.created_at, span)


def warning_at(policy: Policy, clock: Clock, target: str) -> datetime:
    """When the warning for `target` is due."""
    span = timedelta(minutes=policy.minutes(target)) * policy.warning_percent / 100
    return clock.hours.advance(clock.created_at, span + timedelta(seconds=clock.paused_seconds))


def open_targets(state: dict[str, list[str]], first_response_at: datetime | None, resolved: bool) -> list[str]:
    """Targets whose clock still runs: not met, not breached."""
    done = set(state.get("met", [])) | set(state.get("breached", []))
    out = []
    if first_response_at is None and "first_response" not in done:
        out.append("first_response")
    if not resolved and "resolution" not in done:
        out.append("resolution")
    return out


def next_check(
    policy: Policy | None, clock: Clock, state: dict[str, list[str]], first_response_at: datetime | None, resolved: bool
) -> datetime | None:
    """The next instant a warning or breach can fire; None while paused or when nothing is left."""
    if policy is None or clock.paused_since is not None:
        return None
    instants: list[datetime] = []
    for target in open_targets(state, first_response_at, resolved):
        if target not in state.get("warned", []):
            instants.append(warning_at(policy, clock, target))
        instants.append(due_at(policy, clock, target))
    return min(instants) if instants else None


@dataclass(frozen=True)
class Alarm:
    """An SLA event that is due: a warning or a breach of one target."""

    kind: str  # "warning" | "breached"
    target: str
    due_at: datetime


def due_alarms(
    policy: Policy | None,
    clock: Clock,
    state: dict[str, list[str]],
    first_response_at: datetime | None,
    resolved: bool,
    now: datetime,
) -> tuple[list[Alarm], dict[str, list[str]]]:
    """Warnings and breaches due at `now` that have not fired yet, and the SLA state once they have.

    A target past its due time that was never warned gets its warning too, so each fires exactly once.
    """
    if policy is None or clock.paused_since is not None:
        return [], state
    warned, breached = list(state.get("warned", [])), list(state.get("breached", []))
    alarms: list[Alarm] = []
    for target in open_targets(state, first_response_at, resolved):
        due = due_at(policy, clock, target)
        if target not in warned and now >= warning_at(policy, clock, target):
            alarms.append(Alarm("warning", target, due))
            warned.append(target)
        if now >= due:
            alarms.append(Alarm("breached", target, due))
            breached.append(target)
    if not alarms:
        return [], state
    return alarms, {**state, "warned": warned, "breached": breached}


@dataclass(frozen=True)
class Reached:
    """A target reached: `sla.met` when in time, else `sla.breached` (the breach the periodic job would have
    fired had it run before), and the SLA state once it is recorded."""

    event_type: str  # "sla.met" | "sla.breached"
    data: dict[str, Any]
    state: dict[str, list[str]]


def reached(
    state: dict[str, list[str]], target: str, due: datetime | None, at: datetime, paused_since: datetime | None
) -> Reached | None:
    """What reaching `target` at `at` records; None without a due time, or when the target is settled already
    (met, or breached by the job). `due` counts the pauses finished so far; a pause still running stopped the
    clock when it began, so the target was late only if it was due before then."""
    if due is None or target in set(state.get("met", [])) | set(state.get("breached", [])):
        return None
    stopped = paused_since if paused_since is not None and paused_since < at else at
    data: dict[str, Any] = {"target": target, "due_at": due, "met_at": at}
    outcome = "met" if stopped <= due else "breached"
    return Reached(f"sla.{outcome}", data, {**state, outcome: [*state.get(outcome, []), target]})
