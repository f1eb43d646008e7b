"""Configuration, read once per process and checked once per unit of work.

Every unit of work that opens or changes a ticket reads rules, categories, SLA policies, calendars and field
definitions; they change a few times a day. A trigger on each of those tables moves its token in
`config_revisions` on every write, in the writing transaction, whoever writes (migration 0043). A unit of work
reads all tokens in one statement the first time it needs configuration; a value cached in this process is
used while the tokens of the tables it was read from are the same, and read again otherwise. A change committed
by any process is therefore seen by the next unit of work of every process. Tokens are read before the value
(READ COMMITTED: a value read after the tokens is at least as new as them) and are never reused, so a value read
inside a transaction that later rolled back can never be taken for a committed one.

Within one unit of work the tokens are read once (`Tx.memoized`): a service that changes configuration and then
reads it in the same unit clears the memo (`Tx.memo.clear()`), as for anything else it memoized.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import Connection, select

from nixflow.store.db import Tx
from nixflow.store.fast import Fast
from nixflow.store.tables import config_revisions

T = TypeVar("T")

_TOKENS = Fast(select(config_revisions.c.name, config_revisions.c.revision))

# (database URL, key) → (the tokens of the tables it was read from, the value). One entry per key in code: the
# keys are fixed names, never ids read from requests, so the dictionary stays as small as the configuration.
_cache: dict[tuple[str, Hashable], tuple[tuple[int, ...], Any]] = {}


def tokens(tx: Tx) -> dict[str, int]:
    """Each configuration table's token as this unit of work sees it (read once per unit of work)."""
    return tx.memoized("config_tokens", lambda: {r["name"]: int(r["revision"]) for r in _TOKENS.all(tx.conn, {})})


def cached(tx: Tx, key: Hashable, tables: tuple[str, ...], read: Callable[[Connection], T]) -> T:
    """`read(conn)` as of this unit of work, from the process's cache while `tables` have not changed (shared
    between units of work: do not change it)."""

    def look_up() -> T:
        seen = tokens(tx)
        stamp = tuple(seen[t] for t in tables)
        place = (str(tx.conn.engine.url), key)
        hit = _cache.get(place)
        if hit is not None and hit[0] == stamp:
            found: T = hit[1]
            return found
        value = read(tx.conn)
        _cache[place] = (stamp, value)
        return value

    return tx.memoized(("config", key), look_up)
