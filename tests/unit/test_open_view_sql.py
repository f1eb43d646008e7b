"""The open view's SQL (`tables.OPEN_SQL`, the condition of the partial index `ix_tickets_open`) leaves out exactly
the statuses that are not open: a status added later must be placed on one side or the other."""

from __future__ import annotations

import re

from nixflow.domain.tickets import OPEN_STATUSES, Status
from nixflow.store.tables import OPEN_SQL


def test_the_open_view_sql_leaves_out_exactly_the_statuses_that_are_not_open() -> None:
    left_out = set(re.findall(r"'([a-z_]+)'", OPEN_SQL))
    assert OPEN_SQL.startswith("status NOT IN (")
    assert left_out == {s.value for s in Status} - {s.value for s in OPEN_STATUSES}
