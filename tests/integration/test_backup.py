"""`nixflow backup` while NixFlow serves under write load, `nixflow restore` into an empty database: the restored
instance serves what was acknowledged, and its log goes on above every restored position."""

from __future__ import annotations

import asyncio
import tarfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, literal, select, text, tuple_, update
from tests.cli_helpers import NIXFLOW, cli_env
from tests.conftest import Harness, User, _admin_engine, _with_database, not_running, postgres_url, start
from tests.webhook_receiver import stored_subscription

from nixflow.config import Settings
from nixflow.ids import uuid7
from nixflow.store import event_log
from nixflow.store.backup import postgres
from nixflow.store.backup.bundle import back_up, read_manifest, restore, tables_at
from nixflow.store.backup.common import BackupError
from nixflow.store.db import Tx, make_engine
from nixflow.store.migrate import MIGRATIONS, upgrade
from nixflow.store.tables import events, notifications, tickets, webhooks


@contextmanager
def new_database(mode: str, tmp_path: Path, name: str) -> Iterator[str]:
    """The URL of a new database with nothing in it (dropped afterwards on PostgreSQL)."""
    if mode == "embedded":
        yield f"sqlite+aiosqlite:///{tmp_path / name}.db"
        return
    server = postgres_url() or not_running("PostgreSQL")
    name = f"nixflow_{name}_{uuid7().replace('-', '')[-16:]}"
    admin = _admin_engine(server)
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield _with_database(server, name)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def empty_url(mode: str, tmp_path: Path) -> Iterator[str]:
    """A new database with nothing in it, where a restore may go."""
    with new_database(mode, tmp_path, "restored") as url:
        yield url


async def nixflow_cli(tmp_path: Path, database_url: str, *args: str) -> tuple[int, str]:
    """Run `nixflow ARGS` on `database_url` beside the running app (the event loop keeps serving meanwhile)."""
    env = cli_env(tmp_path, {"NIXFLOW_DATABASE_URL": database_url, "NIXFLOW_SECRET_KEY": "test-secret-key"})
    running = await asyncio.create_subprocess_exec(
        *NIXFLOW, *args, cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await running.communicate()
    assert running.returncode is not None
    return running.returncode, out.decode() + err.decode()


async def restored(settings: Settings, url: str) -> AsyncIterator[Harness]:
    """NixFlow serving the restored database (its own Redis keys, under the test's prefix)."""
    update_: dict[str, Any] = {"database_url": url}
    if settings.redis_url:
        update_["redis_prefix"] = f"{settings.redis_prefix}:restored"
    async for h in start(settings.model_copy(update=update_)):
        yield h


async def seen_after(h: Harness, position: event_log.Position, aggregate_id: str) -> list[Any]:
    """The events of `aggregate_id` that a reader at `position` gets, once it gets any (on PostgreSQL a reader
    waits for every older transaction of the cluster to end)."""
    for _ in range(200):
        found, _ = await h.nixflow.db.read(lambda conn: event_log.after(conn, position, limit=1000))
        if mine := [r for r in found if r.aggregate_id == aggregate_id]:
            return mine
        await asyncio.sleep(0.05)
    raise AssertionError(f"no event of {aggregate_id} after {position}")


async def new_ticket(h: Harness, user: User, title: str) -> int:
    made = await h.client.post("/api/tickets", json={"title": title, "description": "x"}, headers=user.headers)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def test_a_backup_under_write_load_restores_every_acknowledged_ticket(
    harness: Harness, settings: Settings, mode: str, empty_url: str, tmp_path: Path
) -> None:
    admin, requester = await harness.user("admin"), await harness.user("requester")
    first = await new_ticket(harness, requester, "printer on fire")
    upload = await harness.client.post(
        f"/api/tickets/{first}/attachments",
        files={"file": ("log.txt", b"paper jam\n" * 50, "text/plain")},
        headers=requester.headers,
    )
    assert upload.status_code == 201, upload.text
    await harness.settle()
    timeline = (await harness.client.get(f"/api/tickets/{first}/events", headers=admin.headers)).json()

    acknowledged: list[int] = []
    stop = asyncio.Event()

    async def write_load() -> None:
        while not stop.is_set():
            acknowledged.append(await new_ticket(harness, requester, f"load {len(acknowledged)}"))
            await asyncio.sleep(0.02)  # a steady load, not one that starves the backup of the machine's CPU

    writer = asyncio.create_task(write_load())
    while len(acknowledged) < 5:  # noqa: ASYNC110  (waits for a count of tickets, not for time)
        await asyncio.sleep(0.01)
    before_backup = list(acknowledged)
    backup = tmp_path / "nixflow.backup"
    code, said = await nixflow_cli(tmp_path, settings.database_url, "backup", str(backup))
    during_backup = len(acknowledged) - len(before_backup)
    stop.set()
    await writer
    assert code == 0, said
    assert during_backup > 0, "the writer was not running while the backup ran"

    await in_thread(restore, empty_url, backup)
    manifest = read_manifest(backup)
    assert manifest["mode"].replace("-", "") == mode and manifest["schema_revision"]
    assert manifest["counts"]["attachments"] == 1 and manifest["counts"]["tickets"] >= len(before_backup) + 1

    async for h in restored(settings, empty_url):
        for ticket_id in [first, *before_backup]:  # the API tokens were restored too
            found = await h.client.get(f"/api/tickets/{ticket_id}", headers=admin.headers)
            assert found.status_code == 200, (ticket_id, found.text)
        [listed] = (await h.client.get(f"/api/tickets/{first}/attachments", headers=admin.headers)).json()
        data = await h.client.get(f"/api/attachments/{listed['id']}", headers=admin.headers)
        assert data.content == b"paper jam\n" * 50
        again = (await h.client.get(f"/api/tickets/{first}/events", headers=admin.headers)).json()
        assert [e["event_id"] for e in again] == [e["event_id"] for e in timeline]

        head = await h.nixflow.db.read(event_log.head)
        top = await h.nixflow.db.read(lambda conn: conn.execute(select(func.max(tickets.c.id))).scalar_one())
        later = await new_ticket(h, requester, "after the restore")
        assert later > top >= max(before_backup)
        [created, *_] = await seen_after(h, head, str(later))
        assert created.type == "ticket.created"
        seq = await h.nixflow.db.read(partial(event_log.seq_of, event_id=created.event_id))
        assert seq is not None and seq > manifest["last_event_seq"]


def _log_positions(conn: Any) -> list[tuple[str, int]]:
    rows = conn.execute(select(events.c.event_id, events.c.seq).order_by(events.c.txid, events.c.seq)).all()
    return [(r.event_id, int(r.seq)) for r in rows]


def _webhook_state(conn: Any) -> tuple[Any, ...]:
    """The log in order, the events the webhook has still to fan out (after its cursor), and the outbox."""
    txid, seq = conn.execute(select(webhooks.c.cursor_txid, webhooks.c.cursor_seq)).one()
    place = tuple_(func.coalesce(events.c.txid, 0), events.c.seq)
    waiting = conn.execute(
        select(events.c.event_id).where(place > tuple_(literal(txid), literal(seq))).order_by(*place.clauses)
    ).scalars()
    outbox = conn.execute(select(notifications).order_by(notifications.c.id)).all()
    return _log_positions(conn), list(waiting), outbox


async def test_refusals_change_nothing_then_cursors_outbox_and_log_order_survive_a_restore_elsewhere(
    harness: Harness, settings: Settings, empty_url: str, tmp_path: Path
) -> None:
    """Restore refuses a database that is not empty and a damaged file, changing nothing. Then, on PostgreSQL, the
    backup comes from a cluster far ahead in transaction ids (as another server would be), one
    of whose transactions committed after a later one: restored, the log keeps its order, a webhook's pending events
    stay pending, and the events of a new ticket come after every restored one, for readers and for the webhook."""
    admin = await harness.user("admin")
    await stored_subscription(harness, event_types=["ticket.*"])
    late = await new_ticket(harness, admin, "one")
    await new_ticket(harness, admin, "two")
    await harness.settle()

    def from_another_cluster(tx: Tx) -> tuple[Any, ...]:
        if tx.conn.dialect.name == "postgresql":
            tx.conn.execute(update(events).values(txid=events.c.txid + 2**40))
            tx.conn.execute(update(webhooks).values(cursor_txid=webhooks.c.cursor_txid + 2**40))
            late_commit = events.c.txid + 2**20
            tx.conn.execute(
                update(events)
                .where(events.c.aggregate_type == "ticket", events.c.aggregate_id == str(late))
                .values(txid=late_commit)
            )
        return _webhook_state(tx.conn)

    before = await harness.write(from_another_cluster)
    assert before[1], "the paused subscription should have events still to send"

    backup = tmp_path / "nixflow.backup"
    await in_thread(back_up, settings.database_url, backup)
    await refused(harness, settings, empty_url, backup, tmp_path)
    await in_thread(restore, empty_url, backup)
    async for h in restored(settings, empty_url):
        assert await h.nixflow.db.read(_webhook_state) == before
        head = await h.nixflow.db.read(event_log.head)
        later = await new_ticket(h, admin, "three")
        created = {e.event_id for e in await seen_after(h, head, str(later))}
        order, waiting, _ = await h.nixflow.db.read(_webhook_state)
        assert order[: len(before[0])] == before[0] and waiting[: len(before[1])] == before[1]
        assert created <= set(waiting[len(before[1]) :]), "the webhook's cursor does not reach the new events"


async def in_thread(job: Any, url: str, path: Path) -> dict[str, Any]:
    result: dict[str, Any] = await asyncio.to_thread(job, url, path, lambda done, total: None)
    return result


async def refused(harness: Harness, settings: Settings, empty_url: str, backup: Path, tmp_path: Path) -> None:
    """Restoring into the serving (not empty) database, or a damaged file into the empty one, changes nothing."""

    def state(conn: Any) -> tuple[Any, ...]:
        return (_log_positions(conn), conn.execute(select(tickets.c.id, tickets.c.version)).all())

    held = await harness.nixflow.db.read(state)
    code, said = await nixflow_cli(tmp_path, settings.database_url, "restore", str(backup))
    assert code == 1 and "Traceback" not in said, said
    assert said.strip().splitlines()[-1].startswith("nixflow: restore: the database is not empty")
    assert await harness.nixflow.db.read(state) == held

    raw = await asyncio.to_thread(backup.read_bytes)
    cut = tmp_path / "cut.backup"
    cut.write_bytes(raw[: len(raw) // 2])
    flipped = tmp_path / "flipped.backup"
    with tarfile.open(backup) as tar:
        at = next(m for m in tar.getmembers() if m.name != "manifest.json").offset_data + 100
    flipped.write_bytes(raw[:at] + bytes([raw[at] ^ 0xFF]) + raw[at + 1 :])
    garbage = tmp_path / "garbage.backup"
    garbage.write_bytes(b"not a backup at all" * 100)
    missing = tmp_path / "missing.backup"
    refusals = [(cut, "damaged"), (flipped, "checksum"), (garbage, "not a NixFlow backup"), (missing, "no backup")]
    for damaged, why in refusals:
        with pytest.raises(BackupError, match=why):
            await in_thread(restore, empty_url, damaged)
    with pytest.raises(BackupError, match="exists already"):
        await in_thread(back_up, settings.database_url, backup)
    assert tables_at(empty_url) == 0


def test_a_backup_of_an_older_schema_is_restored_then_migrated_to_head(mode: str, tmp_path: Path) -> None:
    with new_database(mode, tmp_path, "old") as old, new_database(mode, tmp_path, "new") as new:
        engine = make_engine(old)
        upgrade(engine, "0024")
        engine.dispose()
        backup = tmp_path / "old.backup"
        assert back_up(old, backup, lambda done, total: None)["schema_revision"] == "0024"
        restore(new, backup, lambda done, total: None)
        engine = make_engine(new)
        with engine.connect() as conn:
            head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head
            assert "fields" in {c["name"] for c in inspect(conn).get_columns("organizations")}  # added by 0025
        engine.dispose()


def test_a_missing_postgresql_client_program_is_one_clear_line() -> None:
    with pytest.raises(BackupError, match=r"^pg_nothing not found: install PostgreSQL's client programs"):
        postgres.client("pg_nothing")
