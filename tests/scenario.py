"""A helpdesk story told at simulated times (minutes after T0): open, assign, comment, move, and the clock.

`at` moves the clock and runs the periodic jobs (SLA, escalation) before the next step, as a worker that never
misses a tick would. `jump` only moves the clock, after `hold_jobs` stopped the background ticking: what a
request does by itself, with no job in between (a worker that is down, or simply not there yet).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.conftest import Harness, ManualClock, User

T0 = ManualClock().now


def iso(minutes: float) -> str:
    """T0 + minutes, as the API writes times."""
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


class Scenario:
    def __init__(self, harness: Harness, clock: ManualClock) -> None:
        self.harness, self.clock = harness, clock
        self.tickets: dict[str, int] = {}

    async def at(self, minutes: float) -> None:
        """Move the clock, run the jobs due then and deliver what they caused."""
        self.clock.now = T0 + timedelta(minutes=minutes)
        await self.harness.nixflow.scheduler.run_due(now=self.clock.now)
        await self.harness.settle()

    async def hold_jobs(self) -> None:
        """Stop the background ticking: from now on a job runs only at `at` (or `settle`)."""
        await self.harness.nixflow.scheduler.stop()

    def jump(self, minutes: float) -> None:
        """Move the clock only: no job runs (call `hold_jobs` first, or the background tick may)."""
        self.clock.now = T0 + timedelta(minutes=minutes)

    async def call(self, user: User, method: str, url: str, **body: Any) -> dict[str, Any]:
        response = await self.harness.client.request(method, url, json=body or None, headers=user.headers)
        assert response.status_code in (200, 201), response.text
        return dict(response.json())

    async def open(self, user: User, name: str, category_id: int | None = None) -> None:
        ticket = await self.call(user, "POST", "/api/tickets", title=f"Question {name}", category_id=category_id)
        self.tickets[name] = ticket["id"]

    async def assign(self, admin: User, name: str, agent: User) -> None:
        url = f"/api/tickets/{self.tickets[name]}"
        version = (await self.call(admin, "GET", url))["version"]
        await self.call(admin, "PATCH", url, version=version, assignee_id=agent.id)

    async def comment(self, user: User, name: str, internal: bool = False) -> None:
        url = f"/api/tickets/{self.tickets[name]}/comments"
        await self.call(user, "POST", url, body="Looking into it", internal=internal)

    async def move(self, user: User, name: str, status: str) -> None:
        await self.call(user, "POST", f"/api/tickets/{self.tickets[name]}/transition", status=status)
