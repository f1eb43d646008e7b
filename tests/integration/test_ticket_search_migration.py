"""Migration 0019 indexes the tickets a database already holds, and `nixflow search rebuild` rewrites the index,
in both modes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, insert, text
from tests.cli_helpers import run_cli
from tests.conftest import Harness, User
from tests.integration.test_migrations import empty_database  # noqa: F401  (the fixture)
from tests.search_helpers import comment, ids, open_ticket

from nixflow.config import Settings
from nixflow.domain.values import Role
from nixflow.search.query import search
from nixflow.services.users import Principal
from nixflow.store.migrate import upgrade
from nixflow.store.tables import comments, tickets, users

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _user(user_id: int, role: str) -> dict[str, object]:
    email = f"u{user_id}@example.com"
    return {"id": user_id, "email": email, "name": f"User {user_id}", "role": role, "created_at": T0, "updated_at": T0}


def test_upgrading_indexes_the_tickets_and_comments_already_there(empty_database: Engine) -> None:  # noqa: F811
    upgrade(empty_database, "0017")
    ticket = {"status": "open", "priority": "normal", "requester_id": 6, "approval": "not_required", "version": 1}
    ticket |= {"created_at": T0, "updated_at": T0, "sla_state": {}}
    with empty_database.begin() as conn:
        conn.execute(insert(users), [_user(5, "agent"), _user(6, "requester")])
        conn.execute(insert(tickets).values(id=1, title="Laptop slow", description="since monday", **ticket))
        conn.execute(insert(tickets).values(id=2, title="Fan noise", description="loud", **ticket))
        said = [("Restart it", False), ("Did that", False), ("Thermal paste dried", False), ("Warranty void", True)]
        for n, (body, internal) in enumerate(said, 1):
            conn.execute(
                insert(comments).values(
                    id=n, ticket_id=1, author_id=5, body=body, internal=internal, created_at=T0, source="api"
                )
            )
    upgrade(empty_database)
    agent = Principal(id=5, role=Role.AGENT, email="u5@example.com", name="User 5")
    requester = Principal(id=6, role=Role.REQUESTER, email="u6@example.com", name="User 6")
    with empty_database.connect() as conn:
        [hit] = search(conn, viewer=agent, query="thermal", limit=10)
        assert (hit["ticket"]["id"], hit["match"]["field"], hit["match"]["comment_number"]) == (1, "comment", 3)
        assert [h["ticket"]["id"] for h in search(conn, viewer=agent, query="warranty", limit=10)] == [1]
        assert search(conn, viewer=requester, query="warranty", limit=10) == []
        assert [h["ticket"]["id"] for h in search(conn, viewer=requester, query="fan", limit=10)] == [2]


async def test_nixflow_search_rebuild_from_the_shell(
    harness: Harness, agent: User, requester: User, settings: Settings, tmp_path: Path
) -> None:
    ticket = await open_ticket(harness, requester, "Projector flickers")
    await comment(harness, agent, ticket, "Replace the lamp")
    await harness.write(lambda tx: tx.conn.execute(text("DELETE FROM ticket_search")))
    assert await ids(harness, agent, "lamp") == []
    env = {"NIXFLOW_DATABASE_URL": settings.database_url, "NIXFLOW_SECRET_KEY": "test-secret-key"}
    done = await asyncio.to_thread(run_cli, tmp_path, "search", "rebuild", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "indexed 1 tickets\n"
    assert await ids(harness, agent, "lamp") == [ticket]
