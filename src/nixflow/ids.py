"""Time-ordered identifiers and the clock."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime


def uuid7() -> str:
    """A UUIDv7 (RFC 9562): 48-bit millisecond timestamp, then random bits.

    Identifiers must be unique, not secret (none is a credential: tokens come from `secrets`), so the bits
    come from `random` (seeded from the OS, and again in a forked child), not `os.urandom`: that call releases
    the GIL, and getting it back meant waiting for another busy thread's switch interval, once per event on
    the writer and once per request on the event loop.
    """
    ms = time.time_ns() // 1_000_000
    rand = random.getrandbits(80)
    value = (ms & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a
    value |= 0b10 << 62  # variant
    value |= rand & 0x3FFF_FFFF_FFFF_FFFF  # rand_b
    text = f"{value:032x}"  # the UUID's canonical form, without building a uuid.UUID
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)
