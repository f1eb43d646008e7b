"""Where Redis is: a URL, or sentinels that name the primary (the failover itself: tests/scaleout)."""

import pytest
from pydantic import ValidationError
from redis.sentinel import SentinelConnectionPool

from nixflow.config import Settings
from nixflow.store.redis_client import RedisTarget, parse_sentinels, redis_target


def test_sentinel_addresses_are_parsed_and_bad_ones_refused() -> None:
    assert parse_sentinels("10.0.0.1:26379, sentinel-b:26380,") == (("10.0.0.1", 26379), ("sentinel-b", 26380))
    assert parse_sentinels("[::1]:26379") == (("::1", 26379),)
    for bad in ("", "host", "host:", ":26379", "host:port", "host:70000"):
        with pytest.raises(ValueError):
            parse_sentinels(bad)


def test_settings_refuse_a_bad_sentinel_list() -> None:
    with pytest.raises(ValidationError):
        Settings(redis_url="redis://localhost/0", redis_sentinels="localhost")


def test_without_sentinels_the_url_is_the_server() -> None:
    target = redis_target(Settings(redis_url="redis://cache-host:6390/2"))
    assert target == RedisTarget("redis://cache-host:6390/2")
    kwargs = target.client().connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("cache-host", 6390, 2)
    assert redis_target(Settings()) is None


def test_with_sentinels_the_url_gives_only_database_and_password() -> None:
    settings = Settings(
        redis_url="redis://:s3cret@ignored:1/3", redis_sentinels="127.0.0.1:26379", redis_sentinel_service="desk"
    )
    target = redis_target(settings)
    assert target is not None and target.sentinels == (("127.0.0.1", 26379),) and target.service == "desk"
    for client in (target.client(), target.async_client()):
        pool = client.connection_pool
        assert pool.service_name == "desk"  # type: ignore[attr-defined]
        assert pool.connection_kwargs["db"] == 3 and pool.connection_kwargs["password"] == "s3cret"
        assert "host" not in pool.connection_kwargs
    assert isinstance(target.client().connection_pool, SentinelConnectionPool)
