"""Time-ordered identifiers and the clock."""

from __future__ import annotations

import base64
import os
import time
from datetime import UTC, datetime


def uuid7() -> str:
    """A UUIDv7 (RFC 9562): 48-bit millisecond timestamp, then random bits."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
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


def encode_cursor(kind: str, row_id: int) -> str:
    """An opaque page cursor: the last id of a page, tagged with what it pages through."""
    return base64.urlsafe_b64encode(f"{kind}{row_id}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> int | None:
    """The id in a cursor made by `encode_cursor(kind, ...)`; None if it is not one."""
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()).decode()
        return int(raw[len(kind) :]) if raw.startswith(kind) else None
    except (ValueError, UnicodeDecodeError):
        return None
