"""`Fast` statements store and read exactly what SQLAlchemy's own execution stores and reads (on a real SQLite
file), raise SQLAlchemy's exceptions, and refuse statements whose meaning they would change."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError

from nixflow.store.db import make_engine
from nixflow.store.fast import Fast
from nixflow.store.tables import metadata, notifications, tickets, users

AT = datetime(2030, 1, 11, 15, 30, tzinfo=UTC)
TICKET: dict[str, Any] = {
    "title": "Core switch is down",
    "description": "floor 3 is offline: ünïcode, 'quotes' and \"more\"",
    "status": "new",
    "priority": "critical",
    "category_id": None,
    "requester_id": 1,
    "assignee_id": None,
    "approval": "not_required",
    "escalation_level": 0,
    "version": 1,
    "created_at": AT,
    "updated_at": AT + timedelta(microseconds=123456),
    "first_response_due": AT + timedelta(hours=1),
    "resolution_due": None,
    "sla_paused_seconds": 0,
    "sla_paused_since": None,
    "sla_state": {"warned": ["first_response"], "nested": {"n": 1.5, "ok": True}},
    "first_response_at": None,
    "resolved_at": None,
    "next_check_at": datetime(2030, 1, 12, 1, 0, tzinfo=UTC),
}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    made = make_engine(f"sqlite:///{tmp_path / 'fast.db'}", immediate=True)
    metadata.create_all(made)
    with made.begin() as conn:
        conn.execute(insert(users), [_user(1, "requester"), _user(2, "agent")])
    yield made
    made.dispose()


def _user(user_id: int, role: str) -> dict[str, Any]:
    person = {"id": user_id, "email": f"u{user_id}@example.com", "name": f"U{user_id}", "role": role}
    return person | {
        "active": True,
        "can_approve": False,
        "password_hash": None,
        "created_at": AT,
        "updated_at": AT,
        "signature": None,
        "fields": {},
        "erased_at": None,
        "locale": None,
        "timezone": None,
    }


def _stored(path: str, table: str, row_id: int) -> tuple[Any, ...]:
    with sqlite3.connect(path) as raw:
        found = raw.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,)).fetchone()
    return tuple(found)[1:]  # all but the id


def test_a_row_is_stored_as_sqlalchemy_stores_it_and_read_back_the_same(engine: Engine) -> None:
    fast_insert = Fast(insert(tickets).values({c: bindparam(c) for c in TICKET}))
    with engine.begin() as conn:
        by_sqlalchemy = conn.execute(insert(tickets), TICKET).inserted_primary_key[0]  # type: ignore[index]
        by_fast = fast_insert.inserted_id(conn, TICKET)
    assert by_fast == by_sqlalchemy + 1
    path = str(engine.url.database)
    assert _stored(path, "tickets", by_fast) == _stored(path, "tickets", by_sqlalchemy)

    load = Fast(select(tickets).where(tickets.c.id == bindparam("b_id")))
    with engine.connect() as conn:
        expected = dict(conn.execute(select(tickets).where(tickets.c.id == by_fast)).one()._mapping)
        read = load.first(conn, {"b_id": by_fast})
        assert load.first(conn, {"b_id": 999}) is None
    assert read == expected
    assert read["updated_at"] == TICKET["updated_at"] and read["sla_state"] == TICKET["sla_state"]
    assert read["created_at"].tzinfo is not None


def test_booleans_nulls_and_values_written_into_the_statement(engine: Engine) -> None:
    agents = Fast(select(users.c.id, users.c.active).where(users.c.role == "agent", users.c.active.is_(True)))
    columns = ("recipient_id", "kind", "ticket_id", "event_id", "event_type", "rule_id", "reason", "title", "body",
               "change", "in_app", "created_at", "email_status", "send_after", "attempts")  # fmt: skip
    row = {"recipient_id": 2, "kind": "assigned", "ticket_id": None, "event_id": "e1", "event_type": "ticket.assigned",
           "rule_id": None, "reason": "r", "title": "t", "body": "b", "change": None, "in_app": False,
           "created_at": AT, "email_status": None, "send_after": None, "attempts": 0}  # fmt: skip
    fast_insert = Fast(insert(notifications).values({c: bindparam(c) for c in columns}))
    with engine.begin() as conn:
        assert agents.all(conn, {}) == [{"id": 2, "active": True}]
        first = conn.execute(insert(notifications), row).inserted_primary_key[0]  # type: ignore[index]
        second = fast_insert.inserted_id(conn, {**row, "event_id": "e2"})  # (event, recipient) is unique
    path = str(engine.url.database)
    stored = [v if v != "e2" else "e1" for v in _stored(path, "notifications", second)]
    assert stored == list(_stored(path, "notifications", first))


def test_labelled_aggregates_and_executemany(engine: Engine) -> None:
    count = Fast(select(func.count().label("n"), func.max(users.c.created_at).label("at")))
    add = Fast(insert(users))
    with engine.begin() as conn:
        add.many(conn, [_user(3, "agent"), _user(4, "admin")])
        assert count.first(conn, {}) == {"n": 4, "at": AT}


def test_a_driver_error_is_sqlalchemys_error_and_the_transaction_goes_on(engine: Engine) -> None:
    add = Fast(insert(users))
    with engine.begin() as conn:
        with pytest.raises(IntegrityError):
            add.many(conn, [_user(1, "agent")])  # id 1 exists
        assert conn.execute(select(func.count()).select_from(users)).scalar_one() == 2


def test_statements_whose_meaning_this_path_would_change_are_refused() -> None:
    with pytest.raises(ValueError, match="escalation_level"):  # a Python-side default left out
        Fast(insert(tickets).values(title=bindparam("title")))
    with pytest.raises(ValueError, match="expanding"):
        Fast(select(users.c.id).where(users.c.id.in_(bindparam("ids", expanding=True))))
    with pytest.raises(ValueError, match="label"):
        Fast(select(func.count(), func.max(users.c.id)))
