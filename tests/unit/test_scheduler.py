"""The periodic job runner: one failing job does not stop the others, and an outage is logged once, not per tick."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from nixflow.domain.errors import ServiceUnavailable
from nixflow.worker import PeriodicJob, Scheduler

NOW = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)


class Flaky:
    """A job that raises what it is told to, then works."""

    def __init__(self) -> None:
        self.error: Exception | None = None
        self.runs = 0

    async def __call__(self, now: datetime) -> int:
        self.runs += 1
        if self.error is not None:
            raise self.error
        return 1


def scheduler(*jobs: PeriodicJob) -> Scheduler:
    return Scheduler(clock=lambda: NOW, tick_seconds=1, jobs=list(jobs))


def lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str, bool]]:
    return [(r.levelno, r.getMessage(), r.exc_info is not None) for r in caplog.records if r.name == "nixflow.worker"]


async def test_an_outage_is_logged_once_while_it_lasts_and_its_end_too(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="nixflow.worker")
    job, other = Flaky(), Flaky()
    runner = scheduler(PeriodicJob("sweep", job), PeriodicJob("timers", other))
    job.error = RedisConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    for _ in range(5):
        assert await runner.run_due() == {"sweep": -1, "timers": 1}
    assert other.runs == 5  # the other job ran every tick
    assert lines(caplog) == [
        (
            logging.WARNING,
            "periodic job sweep failing, retried every tick: "
            "ConnectionError: Error 111 connecting to 127.0.0.1:1. Connection refused.",
            False,
        )
    ]

    caplog.clear()
    job.error = None
    assert await runner.run_due() == {"sweep": 1, "timers": 1}
    await runner.run_due()
    assert lines(caplog) == [(logging.INFO, "periodic job sweep works again", False)]


async def test_a_bug_keeps_its_traceback_and_a_new_error_is_logged_again(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="nixflow.worker")
    job = Flaky()
    runner = scheduler(PeriodicJob("timers", job))

    job.error = KeyError("ticket")
    await runner.run_due()
    await runner.run_due()
    job.error = ServiceUnavailable("database unavailable")
    await runner.run_due()
    await runner.run_due()

    assert lines(caplog) == [
        (logging.ERROR, "periodic job timers failed", True),
        (
            logging.WARNING,
            "periodic job timers failing, retried every tick: ServiceUnavailable: database unavailable",
            False,
        ),
    ]
