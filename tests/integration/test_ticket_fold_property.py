"""Property: whatever sequence of commands the API takes, the live ticket equals the fold of its events.

Hypothesis drives random commands (create, allowed and refused status moves, priority, assignment, category,
comments, one submit, tags added and removed, custom fields set, cleared and refused) through HTTP; after each,
`GET /api/tickets/{id}` must equal the ticket rebuilt from its events (`?as_of=` its newest event:
`domain.ticket.fold`, the `Ticket.apply` the write path runs too). Both modes. The app runs on its own event
loop in a thread, so hypothesis (synchronous) can call into it.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as profiles
from hypothesis import strategies as st
from tests.conftest import Harness, User, start

from nixflow.config import Settings

T = TypeVar("T")
STATUSES = ["new", "open", "pending", "resolved", "closed"]
PRIORITIES = ["low", "normal", "high", "critical"]
TAGS = ["vpn", "VPN", "printer", "floor-3"]
# Custom fields: `plan` must be filled before an agent resolves; "gold" and "many" are refused (422).
FIELDS = [
    {"key": "plan", "label": "Plan", "type": "select", "options": ["basic", "pro"], "required_for_agents": True},
    {"key": "seats", "label": "Seats", "type": "number", "requester_visible": True},
    {"key": "modules", "label": "Modules", "type": "multiselect", "options": ["mail", "chat"]},
]
FIELD_VALUES = {
    "plan": ["basic", "pro", "gold", None],
    "seats": [1, 2.5, "many", None],
    "modules": [["chat"], [], None],
}

profiles.register_profile("fold", max_examples=40, stateful_step_count=8, deadline=None)
profiles.register_profile("fold-ci", parent=profiles.get_profile("fold"), derandomize=True, print_blob=True)
PROFILE = "fold-ci" if os.environ.get("CI") else "fold"


class Loop:
    """An event loop in a thread, holding one running app: `run` calls into it from synchronous code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=120)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()


@asynccontextmanager
async def _app(config: Settings) -> AsyncIterator[Harness]:
    async for harness in start(config):
        yield harness


class World:
    """The app, its people and categories, and the commands a sequence is made of."""

    def __init__(self, h: Harness, admin: User, agents: list[User], requester: User, categories: list[int]) -> None:
        self.h, self.admin, self.agents, self.requester, self.categories = h, admin, agents, requester, categories

    async def create(self, priority: str, category: int | None, seats: int | None) -> int:
        body = {"title": "Printer jams", "description": "second floor", "priority": priority, "category_id": category}
        body["fields"] = {} if seats is None else {"seats": seats}
        response = await self.h.client.post("/api/tickets", json=body, headers=self.requester.headers)
        assert response.status_code == 201, response.text
        await self.h.settle()
        return int(response.json()["id"])

    async def command(self, ticket_id: int, step: tuple[str, Any, Any]) -> int:
        """Run one command; return its HTTP status (a refused one must change nothing, the fold checks it)."""
        kind, a, b = step
        url = f"/api/tickets/{ticket_id}"
        staff = self.agents[a % len(self.agents)] if isinstance(a, int) else self.admin
        if kind == "move":
            who = self.requester if b else staff
            response = await self.h.client.post(f"{url}/transition", json={"status": a}, headers=who.headers)
        elif kind == "priority":
            response = await self.h.client.patch(url, json={"priority": a}, headers=self.admin.headers)
        elif kind == "assign":
            assignee = None if a is None else self.agents[a % len(self.agents)].id
            response = await self.h.client.patch(url, json={"assignee_id": assignee}, headers=self.admin.headers)
        elif kind == "category":
            category = None if a is None else self.categories[a % len(self.categories)]
            response = await self.h.client.patch(url, json={"category_id": category}, headers=self.admin.headers)
        elif kind == "comment":
            who = self.requester if b else staff
            body = {"body": "a reply", "internal": bool(a is None and not b)}
            response = await self.h.client.post(f"{url}/comments", json=body, headers=who.headers)
        elif kind == "tag":
            response = await self.h.client.post(f"{url}/tags", json={"tags": a}, headers=staff.headers)
        elif kind == "untag":
            response = await self.h.client.delete(f"{url}/tags/{a}", headers=self.admin.headers)
        elif kind == "fields":
            version = (await self.h.client.get(url, headers=staff.headers)).json()["version"]
            response = await self.h.client.patch(url, json={"version": version, "fields": a}, headers=staff.headers)
        else:
            body = {"comment": {"body": "done, please check"}, "status": a, "priority": b}
            response = await self.h.client.post(f"{url}/update", json=body, headers=self.admin.headers)
        assert response.status_code < 500, response.text
        await self.h.settle()
        return response.status_code

    async def live_and_folded(self, ticket_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
        headers = self.admin.headers
        live = await self.h.client.get(f"/api/tickets/{ticket_id}", headers=headers)
        events = await self.h.client.get(f"/api/tickets/{ticket_id}/events", headers=headers)
        assert live.status_code == 200 and events.status_code == 200, (live.text, events.text)
        last = events.json()[-1]["event_id"]
        folded = await self.h.client.get(f"/api/tickets/{ticket_id}", params={"as_of": last}, headers=headers)
        assert folded.status_code == 200, folded.text
        return dict(live.json()), dict(folded.json())


async def _world(stack: AbstractAsyncContextManager[Harness]) -> World:
    h = await stack.__aenter__()
    admin, requester = await h.user("admin"), await h.user("requester")
    agents = [await h.user("agent", name="Ann"), await h.user("agent", name="Bob")]
    categories = []
    for name, staff in (("Printers", agents[:1]), ("Network", agents[1:])):
        body = {"name": name, "agent_ids": [a.id for a in staff]}
        response = await h.client.post("/api/categories", json=body, headers=admin.headers)
        assert response.status_code == 201, response.text
        categories.append(int(response.json()["id"]))
    for definition in FIELDS:
        response = await h.client.post("/api/fields", json=definition, headers=admin.headers)
        assert response.status_code == 201, response.text
    for priority, minutes in (("high", 60), ("critical", 30)):
        policy = {"first_response_minutes": minutes, "resolution_minutes": minutes * 8, "warning_percent": 75}
        response = await h.client.put(f"/api/sla/policies/{priority}", json=policy, headers=admin.headers)
        assert response.status_code == 200, response.text
    return World(h, admin, agents, requester, categories)


@pytest.fixture
def world(settings: Settings) -> Iterator[tuple[Loop, World]]:
    loop = Loop()
    stack = _app(settings)
    try:
        yield loop, loop.run(_world(stack))
    finally:
        loop.run(stack.__aexit__(None, None, None))
        loop.close()


_staff = st.one_of(st.none(), st.integers(0, 1))
_steps = st.one_of(
    st.tuples(st.just("move"), st.sampled_from(STATUSES), st.booleans()),
    st.tuples(st.just("priority"), st.sampled_from(PRIORITIES), st.none()),
    st.tuples(st.just("assign"), _staff, st.none()),
    st.tuples(st.just("category"), _staff, st.none()),
    st.tuples(st.just("comment"), _staff, st.booleans()),
    st.tuples(st.just("submit"), st.sampled_from(STATUSES), st.sampled_from(PRIORITIES)),
    # Mixed case and repeats: the tags are normalised, and a tag the ticket has already changes nothing.
    st.tuples(st.just("tag"), st.lists(st.sampled_from(TAGS), min_size=1, max_size=3), st.none()),
    st.tuples(st.just("untag"), st.sampled_from(TAGS), st.none()),
    st.tuples(
        st.just("fields"),
        st.dictionaries(st.sampled_from(sorted(FIELD_VALUES)), st.integers(0, 3), min_size=1).map(
            lambda picks: {k: FIELD_VALUES[k][i % len(FIELD_VALUES[k])] for k, i in picks.items()}
        ),
        st.none(),
    ),
)


def test_the_live_ticket_is_the_fold_of_its_events(world: tuple[Loop, World]) -> None:
    loop, w = world
    seen: dict[str, set[int]] = {"ok": set(), "refused": set()}

    @profiles(profiles.get_profile(PROFILE), suppress_health_check=[HealthCheck.too_slow])
    @given(
        priority=st.sampled_from(PRIORITIES),
        category=st.one_of(st.none(), st.sampled_from([0, 1])),
        seats=st.one_of(st.none(), st.integers(1, 3)),
        steps=st.lists(_steps, min_size=1, max_size=8),
    )
    def sequence(priority: str, category: int | None, seats: int | None, steps: list[tuple[str, Any, Any]]) -> None:
        ticket_id = loop.run(w.create(priority, None if category is None else w.categories[category], seats))
        live, folded = loop.run(w.live_and_folded(ticket_id))
        assert live == folded, "after create"
        for step in steps:
            status = loop.run(w.command(ticket_id, step))
            seen["ok" if status < 300 else "refused"].add(status)
            live, folded = loop.run(w.live_and_folded(ticket_id))
            assert live == folded, step

    sequence()
    # The sequences really did both: changes that were made and commands that were refused.
    assert seen["ok"] and seen["refused"], seen
