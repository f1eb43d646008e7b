"""Which handler failures use up an attempt: a bug does; an outage or a lost lock race does not."""

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, ResponseError
from redis.sentinel import MasterNotFoundError
from sqlalchemy.exc import IntegrityError, OperationalError

from nixflow.events.dispatch import _outage


class PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def test_outages_and_lock_races_are_transient() -> None:
    for exc in (
        RedisConnectionError("refused"),
        MasterNotFoundError("No master found for 'nixflow'"),
        ReadOnlyError("You can't write against a read only replica."),
        OperationalError("UPDATE report_days", {}, PgError("40P01")),
        OperationalError("UPDATE tickets", {}, PgError("40001")),
    ):
        assert _outage(exc), exc


def test_bugs_and_refusals_use_up_attempts() -> None:
    for exc in (
        RuntimeError("a bug"),
        ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"),
        IntegrityError("INSERT", {}, PgError("23505")),
        OperationalError("SELECT", {}, Exception("no sqlstate")),
    ):
        assert not _outage(exc), exc
