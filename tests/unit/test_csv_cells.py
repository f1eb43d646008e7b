"""CSV exports quote text a spreadsheet would run as a formula (issue 22)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nixflow.api.routes.reports import csv_cell


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1+1", "\r=1+1", "\tplain", "\rplain"])
def test_text_a_spreadsheet_would_run_is_quoted(text: str) -> None:
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Billing", "a=b", " =1", 42, 1.5])
def test_other_values_are_kept(value: object) -> None:
    assert csv_cell(value) == value


def test_times_are_iso_8601() -> None:
    assert csv_cell(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)) == "2026-01-02T03:04:00+00:00"
