"""How far each consumer group of the Redis streams is behind: read at scrape time for `/metrics`.

Two figures per stream and group: **pending**, entries delivered to a consumer and not yet acknowledged
(`XPENDING`'s summary count: a worker that stopped mid-batch holds them), and **lag**, entries added to the
stream and not yet delivered to the group (`XINFO GROUPS`'s `lag`, Redis 7 and later; Redis leaves it out or
answers nil when it cannot tell, e.g. after a trim past the group's position, and then so do we).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis


@dataclass(frozen=True)
class GroupBacklog:
    stream: str
    group: str
    pending: int
    lag: int | None  # None: this Redis does not know (older than 7.0, or the count is unknowable after a trim)


async def read(redis: aioredis.Redis, streams: Sequence[str]) -> list[GroupBacklog]:
    """Each existing group's pending count and lag, stream by stream; a stream not created yet has no group."""
    out: list[GroupBacklog] = []
    for stream in streams:
        if not await redis.exists(stream):
            continue
        for group in await redis.xinfo_groups(stream):
            name = str(group["name"])
            summary = await redis.xpending(stream, name)
            lag = group.get("lag")
            out.append(GroupBacklog(stream, name, int(summary["pending"]), None if lag is None else int(lag)))
    return out
