"""Redis Sentinel: the primary is killed mid-burst, the sentinel promotes the replica, and every accepted ticket is
still automated exactly once (the events the old primary held and the replica never got are `pending` in the log,
and the sweeper sends them again to the new primary)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.scaleout.cluster import Cluster, SentinelRedis, running, wait_until
from tests.scaleout.test_cluster import TICKETS, arrange, cluster_env, post_burst, verify

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
def database(postgres_database: str) -> str:
    return postgres_database


async def test_the_primary_killed_mid_burst_fails_over_and_loses_nothing(tmp_path: Path, database: str) -> None:
    redis = SentinelRedis(tmp_path)
    redis.start()
    # The URL's host and port are not used with sentinels (only its database): point it at nothing at all.
    env = cluster_env(database, "redis://127.0.0.1:1/0", "failover")
    env |= {"NIXFLOW_REDIS_SENTINELS": redis.sentinels, "NIXFLOW_REDIS_SENTINEL_SERVICE": redis.SERVICE}
    try:
        with running(Cluster(tmp_path, env)) as cluster:
            bases = [cluster.start_api(), cluster.start_api()]
            cluster.start_worker()
            cluster.start_worker()
            headers, agents, category_id = arrange(cluster, bases[0])
            killed = False

            async def kill_at_a_third(accepted: int) -> None:
                nonlocal killed
                if not killed and accepted >= TICKETS // 3:
                    killed = True
                    await asyncio.to_thread(redis.kill_primary)

            ids = await post_burst(bases, headers, category_id, TICKETS, on_progress=kill_at_a_third)
            assert killed
            wait_until(lambda: redis.primary() == redis.replica_port, timeout=30, what="the replica promoted")
            # Round-robin counters are Redis INCRs: the few the replica had not received are handed out again, so
            # the shares may differ by a few more than one after a failover (documented in docs/architecture.md).
            verify(database, ids, agents, spread=4)
            assert cluster.alive()
    finally:
        redis.stop()
