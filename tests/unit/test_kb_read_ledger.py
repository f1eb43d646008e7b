"""The knowledge base's read ledger (issue 22): one recorded reading per reader, article version and window;
a rate per client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nixflow.domain.errors import TooManyRequests
from nixflow.kb.read_ledger import ReadLedger, reader_key

T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)


def test_a_reading_is_recorded_once_per_reader_article_version_and_window() -> None:
    ledger = ReadLedger(window=timedelta(minutes=30))
    anon = reader_key(None, "203.0.113.7")
    assert ledger.first((anon, "suggested", 1, 1), T0)
    assert not ledger.first((anon, "suggested", 1, 1), T0 + timedelta(minutes=29))  # typing on
    assert ledger.first((anon, "suggested", 1, 2), T0)  # a new version counts apart
    assert ledger.first((anon, "suggested", 2, 1), T0)  # another article
    assert ledger.first((anon, "viewed", 1, 1), T0)  # a view is not a suggestion
    assert ledger.first((reader_key(None, "203.0.113.8"), "suggested", 1, 1), T0)  # another client
    assert ledger.first((reader_key(7, "203.0.113.7"), "suggested", 1, 1), T0)  # a signed-in user
    assert ledger.first((anon, "suggested", 1, 1), T0 + timedelta(minutes=30))  # the next window


def test_a_client_past_its_rate_is_refused_until_the_minute_is_over() -> None:
    ledger = ReadLedger(per_minute=3)
    for _ in range(3):
        ledger.admit("client:a", T0)
    with pytest.raises(TooManyRequests) as refused:
        ledger.admit("client:a", T0 + timedelta(seconds=20))
    assert refused.value.retry_after == 40 and "at most 3 a minute" in str(refused.value)
    ledger.admit("client:b", T0 + timedelta(seconds=20))  # others read on
    ledger.admit("client:a", T0 + timedelta(minutes=1))  # a new minute
