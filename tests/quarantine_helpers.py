"""Held mail for tests that need one, held as the intake before the bounded parser held a deeply nested message."""

from __future__ import annotations

from nixflow.email_in import quarantine
from nixflow.store.db import Tx
from tests.conftest import Harness


async def held_mail(h: Harness, raw: bytes) -> int:
    """Hold `raw` with the RecursionError the old parser raised; a retry now stores it."""
    error = RecursionError("maximum recursion depth exceeded")

    def hold(tx: Tx) -> int:
        return quarantine.hold(tx, raw, source="imap", error=error, mail=None)

    held: int = await h.write(hold)
    return held
