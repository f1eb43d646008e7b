"""Identifiers, settings and the in-memory dedup map."""

from __future__ import annotations

import time
import uuid

import pytest

from nixflow.config import ConfigError, load_settings
from nixflow.events.dedup import MemoryDedup
from nixflow.ids import uuid7


def test_uuid7_is_version_7_and_time_ordered() -> None:
    first = uuid7()
    time.sleep(0.002)
    later = [uuid7() for _ in range(50)]
    assert uuid.UUID(first).version == 7
    assert all(first < other for other in later)
    assert len(set(later)) == 50


def test_a_bad_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NIXFLOW_DEDUP_TTL_SECONDS", "soon")
    with pytest.raises(ConfigError, match="NIXFLOW_DEDUP_TTL_SECONDS"):
        load_settings()
    monkeypatch.delenv("NIXFLOW_DEDUP_TTL_SECONDS")
    monkeypatch.setenv("NIXFLOW_DATABASE_URL", "mysql://nope")
    with pytest.raises(ConfigError, match="NIXFLOW_DATABASE_URL"):
        load_settings()


def test_defaults_are_embedded_mode(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in ("NIXFLOW_DATABASE_URL", "NIXFLOW_REDIS_URL", "NIXFLOW_DEDUP_TTL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(_env_file=None)
    assert settings.database_url == "sqlite+aiosqlite:///./nixflow.db"
    assert settings.redis_url is None
    assert settings.dedup_ttl_seconds == 5


def test_dedup_holds_a_key_for_its_ttl_only() -> None:
    dedup = MemoryDedup()
    assert dedup.claim("k", "first", 0.05) == "first"
    assert dedup.claim("k", "second", 0.05) == "first"
    assert dedup.claim("k", "first", 0.05) == "first"  # the owner itself may claim again (a retry)
    time.sleep(0.06)
    assert dedup.claim("k", "third", 0.05) == "third"


def test_delivery_order_puts_higher_priority_first_but_keeps_each_aggregates_order() -> None:
    from datetime import UTC, datetime

    from nixflow.domain.envelope import EventRecord
    from nixflow.domain.values import Priority
    from nixflow.store.deliveries import in_delivery_order

    def record(seq: int, aggregate: str, priority: str) -> EventRecord:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        meta = {"correlation_id": "c"}
        kind = Priority(priority)
        return EventRecord(f"e{seq}", "ticket.updated", "ticket", kind, now, "ticket", aggregate, {}, meta)

    batch = [record(1, "7", "normal"), record(2, "8", "low"), record(3, "7", "critical"), record(4, "9", "high")]
    for i, r in enumerate(batch, start=1):
        r.seq = i
    ordered = [r.event_id for r in in_delivery_order(list(reversed(batch)))]
    # Ticket 7's critical event (e3) may not overtake its earlier normal one (e1): e1 takes the first place.
    assert ordered == ["e1", "e4", "e3", "e2"]
