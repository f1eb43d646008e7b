"""The credential cache in scale-out: a generation shared by every process decides whether the cache is trusted."""

from __future__ import annotations

from datetime import UTC, datetime

from nixflow.domain.envelope import EventRecord
from nixflow.domain.values import Priority, Role
from nixflow.services.auth import Authenticated
from nixflow.services.credentials import CredentialCache
from nixflow.services.users import Principal

NOW = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
FOUND = Authenticated(Principal(7, Role.AGENT, "a@example.com", "A"), token_id=3, kind="session", csrf_hash=None)


class Shared:
    """The shared-generation interface, in memory: what another process's `bump` would change."""

    def __init__(self) -> None:
        self.value = 0
        self.reachable = True

    def bump(self) -> None:
        self.value += 1

    async def current(self) -> str:
        if not self.reachable:
            raise ConnectionError("redis is down")
        return str(self.value)

    async def close(self) -> None:
        return None


async def cached(cache: CredentialCache) -> bool:
    await cache.check_shared()
    return cache.get("token", NOW) is not None


def event(event_type: str) -> EventRecord:
    meta = {"correlation_id": "c", "actor_id": 7, "source": "api"}
    return EventRecord("e1", event_type, "user", Priority.NORMAL, NOW, "user", "7", {"user_id": 7}, meta)


async def test_another_process_bumping_the_generation_empties_the_cache() -> None:
    shared = Shared()
    cache = CredentialCache(shared=shared)
    await cache.check_shared()
    cache.put("token", FOUND, cache.generation)
    assert await cached(cache)
    shared.bump()  # another process ended a session
    assert not await cached(cache)


async def test_a_commit_that_ends_a_credential_bumps_the_generation_and_a_sign_in_does_not() -> None:
    shared = Shared()
    cache = CredentialCache(shared=shared)
    cache.committed([event("user.login")])
    assert shared.value == 0
    cache.committed([event("user.sessions_ended")])
    assert shared.value == 1


async def test_an_unreachable_generation_means_the_cache_is_not_trusted() -> None:
    shared = Shared()
    cache = CredentialCache(shared=shared)
    await cache.check_shared()
    cache.put("token", FOUND, cache.generation)
    shared.reachable = False
    assert not await cached(cache)
    cache.put("token", FOUND, cache.generation)
    assert not await cached(cache)  # every time, until it can be read again
