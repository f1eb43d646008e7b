"""`POST /api/users/{id}/erase` and `nixflow users erase`: a person's data gone from every table and the log's
payloads (and, on SQLite, from the file's bytes and a backup taken afterwards), while the tickets, the reports and
the log's order stay (both modes)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, inspect, make_url, select, text
from tests import mail_corpus
from tests.cli_helpers import run_cli
from tests.conftest import PASSWORD, Harness, User
from tests.mail_helpers import pipe
from tests.search_helpers import comment, found, open_ticket
from tests.webhook_receiver import stored_subscription

from nixflow.reports.rebuild import TABLES, rebuild
from nixflow.store.backup import sqlite as sqlite_backup
from nixflow.store.db import sync_url
from nixflow.store.tables import SYSTEM_USER_ID, events, webhook_attempts, webhook_deliveries
from nixflow.store.ticket_index import COLUMNS, reindex

NAME = "Zebulon Quarrington"
PHRASE = "purple-kumquat-7731"  # in their comment
TITLE = "Wobbling ficus monitor"  # their ticket's title
FILE_BYTES = b"secret-scan-of-passport-0042"
MAILED = "hazelnut-mail-5501"  # in the mail they sent


def traces(conn: Connection, needles: list[str]) -> list[str]:
    """Every `table.column` of the whole database (every table, FTS5's own included) holding a needle, any case."""
    wanted = [n.lower() for n in needles]
    hits = []
    for table in inspect(conn).get_table_names():
        for row in conn.execute(text(f'SELECT * FROM "{table}"')).mappings():
            for column, value in row.items():
                seen = value.decode("latin-1") if isinstance(value, bytes | memoryview) else str(value)
                if isinstance(value, memoryview):
                    seen = value.tobytes().decode("latin-1")
                hits += [f"{table}.{column}: {n}" for n in wanted if n in seen.lower()]
    return hits


async def file_traces(h: Harness, tmp_path: Path, needles: list[str]) -> list[str]:
    """The needles (any case) in the bytes of the SQLite file, checkpointed, and of a backup taken now."""
    database = Path(make_url(sync_url(h.nixflow.settings.database_url)).database or "")
    await h.nixflow.db.read(lambda conn: conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").all())
    copy = tmp_path / "after-erasure.db"
    await asyncio.to_thread(sqlite_backup.copy_out, database, copy, lambda done, total: None)
    files = [database, database.with_name(database.name + "-wal"), copy]
    raw = b"".join(f.read_bytes().lower() for f in files if f.exists())
    return [n for n in needles if n.lower().encode() in raw]


async def echoed_by_a_receiver(h: Harness, ticket: int, answer: str) -> None:
    """A webhook delivery of the ticket's `ticket.created` whose receiver answered by echoing it (the attempt log
    keeps an excerpt of every answer)."""
    hook = await stored_subscription(h)
    [created] = await h.events(type="ticket.created", aggregate_id=str(ticket))

    def deliver(tx: Any) -> None:
        at = tx.now
        delivery = {
            "webhook_id": hook["id"],
            "event_id": created["event_id"],
            "event_type": "ticket.created",
            "event_seq": 1,
            "aggregate_type": "ticket",
            "aggregate_id": str(ticket),
            "status": "failed",
            "attempts": 1,
            "last_error": answer,
            "created_at": at,
            "updated_at": at,
        }
        made = tx.conn.execute(insert(webhook_deliveries).values(delivery).returning(webhook_deliveries.c.id))
        attempt = {"delivery_id": made.scalar_one(), "at": at, "status_code": 500, "response_excerpt": answer}
        tx.conn.execute(insert(webhook_attempts).values(attempt))

    await h.write(deliver)


async def _erase(h: Harness, who: User, person: User, confirm: str, **body: Any) -> Any:
    return await h.client.post(f"/api/users/{person.id}/erase", json={"confirm": confirm, **body}, headers=who.headers)


async def _report_tables(h: Harness) -> dict[str, list[tuple[Any, ...]]]:
    def read(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
        return {t.name: sorted(tuple(r) for r in conn.execute(select(t))) for t in TABLES}

    tables: dict[str, list[tuple[Any, ...]]] = await h.nixflow.db.read(read)
    return tables


async def test_an_erased_person_leaves_no_trace_and_their_tickets_stay(harness: Harness, tmp_path: Path) -> None:
    h = harness
    admin, agent = await h.user("admin"), await h.user("agent", name="Agnes Agent")
    person = await h.user("requester", name=NAME, email="zebulon.q@example.com")
    signed_in = await h.client.post("/api/auth/login", json={"email": person.email, "password": PASSWORD})
    assert signed_in.status_code == 200
    await h.client.post("/api/auth/login", json={"email": person.email, "password": "wrong"})
    ticket = await open_ticket(h, person, TITLE, f"My desk at 4 Elm Row. Call {NAME} on +44 7700 900123.")
    await comment(h, person, ticket, f"It wobbles more today, {PHRASE}.")
    await comment(h, agent, ticket, "Hi Zebulon Quarrington, we are looking at it.")
    file = await h.client.post(
        f"/api/tickets/{ticket}/attachments",
        files={"file": ("passport.txt", FILE_BYTES, "text/plain")},
        headers=person.headers,
    )
    assert file.status_code == 201, file.text
    others = await open_ticket(h, agent, "Printer jam on floor 2", "Tray 3 again.")
    mailed = mail_corpus.plain(
        sender=f"{NAME} <{person.email}>", subject=f"[#{ticket}] more", body=MAILED, message_id="<zq-1@example.com>"
    )
    await pipe(h, mailed)  # held on the ticket: the bytes, the sender and a note
    await h.settle()
    await echoed_by_a_receiver(h, ticket, f"got it: {NAME}")
    needles = [NAME, "zebulon", person.email, PHRASE, TITLE, "+44 7700 900123", FILE_BYTES.decode(), "passport.txt"]
    needles.append(MAILED)
    assert len(await h.nixflow.db.read(lambda conn: traces(conn, needles))) > 10
    reports_before = await _report_tables(h)

    refused = await _erase(h, agent, person, person.email)
    assert refused.status_code == 403
    mistyped = await _erase(h, admin, person, "someone@example.com")
    assert mistyped.status_code == 409 and "confirm" in mistyped.text
    assert (await h.client.get(f"/api/users/{person.id}", headers=admin.headers)).json()["name"] == NAME
    oneself = await _erase(h, admin, admin, admin.email)
    assert oneself.status_code == 409 and "yourself" in oneself.json()["detail"]

    done = await _erase(h, admin, person, person.email.upper(), reason="asked by mail on 3 Dec")
    assert done.status_code == 200, done.text
    assert done.json()["tickets"] == 1 and done.json()["comments"] == 3 and done.json()["attachments"] == 1
    assert done.json()["mails"] == 1
    await h.settle()

    assert await h.nixflow.db.read(lambda conn: traces(conn, needles)) == []
    if h.nixflow.settings.database_url.startswith("sqlite"):
        assert await file_traces(h, tmp_path, needles) == []
    for q in ("kumquat", "zebulon", "ficus", "passport"):
        assert await found(h, admin, q) == [], q
    assert [i["ticket"]["id"] for i in await found(h, admin, "tray")] == [others]

    again = await _erase(h, admin, person, person.email)
    assert again.status_code == 409 and "erased already" in again.json()["detail"]
    gone = await h.client.get("/api/tickets", headers=person.headers)
    assert gone.status_code == 401

    exported = (await h.client.get(f"/api/users/{person.id}/export", headers=admin.headers)).json()
    assert exported["erased"] is True and exported["profile"]["name"] == f"Erased user {person.id}"
    assert exported["comments_written"] and {c["body"] for c in exported["comments_written"]} == {"[erased]"}
    assert (
        exported["attachments"] == [] and exported["sign_in_attempts"] == [] and exported["sessions_and_tokens"] == []
    )

    shown = await h.client.get(f"/api/tickets/{ticket}", headers=admin.headers)
    assert shown.status_code == 200 and shown.json()["title"] == "[erased]"
    assert shown.json()["requester_id"] == person.id
    timeline = (await h.client.get(f"/api/tickets/{ticket}/events", headers=admin.headers)).json()
    assert timeline[-1]["type"] != "user.erased" and any(e["type"] == "ticket.commented" for e in timeline)
    latest = timeline[-1]["event_id"]
    rebuilt = await h.client.get(f"/api/tickets/{ticket}", params={"as_of": latest}, headers=admin.headers)
    assert rebuilt.json() == shown.json()  # the log folds to the erased ticket
    await h.client.post("/api/auth/login", json={"email": admin.email, "password": PASSWORD})
    page = await h.client.get(f"/tickets/{ticket}")
    assert page.status_code == 200 and f"Erased user {person.id}" in page.text

    [erased] = await h.events(type="user.erased")
    assert erased["data"]["user_id"] == person.id and erased["data"]["by_id"] == admin.id
    assert erased["data"]["reason"] == "asked by mail on 3 Dec" and erased["metadata"]["actor_id"] == admin.id
    assert await _report_tables(h) == reports_before  # the reports still count the ticket
    await h.write(lambda tx: rebuild(tx.conn))
    assert await _report_tables(h) == reports_before  # and the erased log rebuilds them the same
    index = await h.nixflow.db.read(index_rows)
    await h.write(lambda tx: reindex(tx.conn))
    assert await h.nixflow.db.read(index_rows) == index  # as does the search index, rebuilt from the tables


def index_rows(conn: Connection) -> list[tuple[Any, ...]]:
    key = "piece" if conn.dialect.name == "postgresql" else "rowid"
    rows = conn.execute(text(f"SELECT {key}, {', '.join(COLUMNS)} FROM ticket_search ORDER BY {key}"))
    return [tuple(r) for r in rows]


async def test_erasure_waits_for_open_tickets_to_be_reassigned(harness: Harness) -> None:
    h = harness
    admin = await h.user("admin")
    agent = await h.user("agent", name="Otto Assigned")
    requester = await h.user("requester")
    ticket = await open_ticket(h, requester, "VPN drops", "Every hour.")
    assigned = await h.client.patch(
        f"/api/tickets/{ticket}", json={"version": 1, "assignee_id": agent.id}, headers=admin.headers
    )
    assert assigned.status_code == 200, assigned.text
    await h.settle()
    await comment(h, agent, ticket, "Swapped the zircon-7 router")
    refused = await _erase(h, admin, agent, agent.email)
    assert refused.status_code == 409 and refused.json()["errors"] == [{"type": "assigned_ticket", "ticket_id": ticket}]
    assert (await h.client.get(f"/api/users/{agent.id}", headers=admin.headers)).json()["name"] == "Otto Assigned"
    version = (await h.client.get(f"/api/tickets/{ticket}", headers=admin.headers)).json()["version"]
    await h.client.patch(
        f"/api/tickets/{ticket}", json={"version": version, "assignee_id": None}, headers=admin.headers
    )
    twice = await asyncio.gather(*(_erase(h, admin, agent, agent.email) for _ in range(2)))  # at once: one erases
    assert sorted(r.status_code for r in twice) == [200, 409], [r.text for r in twice]
    assert (await h.client.get(f"/api/users/{agent.id}", headers=admin.headers)).json()["active"] is False
    assert await found(h, admin, "zircon") == []  # their comment on another's ticket: erased and reindexed
    said = (await h.client.get(f"/api/tickets/{ticket}/comments", headers=requester.headers)).json()
    assert [c["body"] for c in said] == ["[erased]"]
    assert (await h.client.get(f"/api/tickets/{ticket}", headers=admin.headers)).json()["title"] == "VPN drops"
    changed = await h.client.patch(f"/api/users/{agent.id}", json={"active": True}, headers=admin.headers)
    assert changed.status_code == 409  # nobody to let back in
    system = await h.client.post(f"/api/users/{SYSTEM_USER_ID}/erase", json={"confirm": "x"}, headers=admin.headers)
    assert system.status_code == 403
    missing = await h.client.post("/api/users/999999/erase", json={"confirm": "x"}, headers=admin.headers)
    assert missing.status_code == 404

    def count(conn: Connection) -> int:
        return len(conn.execute(select(events.c.seq).where(events.c.event_type == "user.erased")).all())

    assert await h.nixflow.db.read(count) == 1


async def test_what_a_merge_moved_from_their_ticket_is_erased_on_the_survivor(harness: Harness) -> None:
    h = harness
    admin, agent = await h.user("admin"), await h.user("agent")
    person, colleague = await h.user("requester"), await h.user("requester")
    theirs = await open_ticket(h, person, "Basalt login loop", "onyx-desk-19 keeps asking")
    await comment(h, person, theirs, "still looping, garnet-88")
    survivor = await open_ticket(h, colleague, "Login loop", "same here, quartz-5")
    merged = await h.client.post(f"/api/tickets/{theirs}/merge", json={"into": survivor}, headers=agent.headers)
    assert merged.status_code == 200, merged.text
    await h.settle()
    needles = ["basalt", "onyx-desk-19", "garnet-88"]
    assert await h.nixflow.db.read(lambda conn: traces(conn, needles))
    done = await _erase(h, admin, person, person.email)
    assert done.status_code == 200, done.text
    assert await h.nixflow.db.read(lambda conn: traces(conn, needles)) == []
    assert [t["ticket"]["id"] for t in await found(h, admin, "quartz")] == [survivor]  # the colleague's words stay


def test_users_erase_from_the_shell_refuses_the_last_admin(tmp_path: Path) -> None:
    def create(email: str, role: str) -> str:
        made = run_cli(
            tmp_path, "users", "create", "--email", email, "--name", "Ada", "--role", role, "--password", PASSWORD
        )
        assert made.returncode == 0, made.stderr
        return made.stdout.strip()

    admin, person = create("root@example.com", "admin"), create("ada@example.com", "requester")
    last = run_cli(tmp_path, "users", "erase", admin, "--confirm", "root@example.com")
    assert last.returncode == 1 and "last active admin" in last.stderr and "Traceback" not in last.stderr
    done = run_cli(tmp_path, "users", "erase", person, "--confirm", "ada@example.com", "--reason", "asked")
    assert done.returncode == 0, done.stderr
    assert f"user {person} erased: 0 ticket(s)" in done.stdout
