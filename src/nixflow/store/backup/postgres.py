"""PostgreSQL through its own client programs: `pg_dump` (custom format, in the snapshot the manifest's counts
were read in) and `pg_restore` (one transaction: all or nothing); then the log's positions are renumbered so
they stay below every transaction id of the cluster the backup lands in."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, make_url, text

from nixflow.store.backup.common import BackupError, Progress, facts, table_count

_DUMPING = "dumping contents of table"
_RESTORING = "processing data for table"

# A log position is (txid, seq), txid being the writing transaction's id in the cluster that wrote it. Another
# cluster (or one rebuilt from this dump) counts transaction ids from elsewhere, maybe below those. Renumbered,
# the restored events keep their order but take ids 1..K (K = 1 + the times `seq` goes down in log order, a
# handful), and each webhook cursor moves to the renumbered position of the last event it had passed.
_RUNS = """
WITH ordered AS (
    SELECT seq, txid, CASE WHEN seq < lag(seq) OVER (ORDER BY txid, seq) THEN 1 ELSE 0 END AS step FROM events
), runs AS (
    SELECT seq, txid, 1 + sum(step) OVER (ORDER BY txid, seq) AS run FROM ordered
)
"""
_MOVE_CURSORS = (
    _RUNS
    + """
UPDATE webhooks AS w SET cursor_txid = coalesce(p.run, 0), cursor_seq = coalesce(p.seq, 0)
FROM webhooks AS old LEFT JOIN LATERAL (
    SELECT run, seq FROM runs WHERE (runs.txid, runs.seq) <= (old.cursor_txid, old.cursor_seq)
    ORDER BY runs.txid DESC, runs.seq DESC LIMIT 1
) AS p ON true
WHERE w.id = old.id
"""
)
_RENUMBER = _RUNS + "UPDATE events AS e SET txid = runs.run FROM runs WHERE e.seq = runs.seq"


def client(program: str) -> str:
    """The path of a PostgreSQL client program: on PATH, or in Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(program) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{program}"))[::-1]), None)
    if found is None:
        raise BackupError(f"{program} not found: install PostgreSQL's client programs (Debian: postgresql-client)")
    return found


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The connection string of a client program, and its environment (the password rides there, not in argv)."""
    parsed = make_url(url)

    def quoted(value: object) -> str:
        return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"

    keys: dict[str, Any] = {"host": parsed.host, "port": parsed.port, "user": parsed.username}
    keys |= {"dbname": parsed.database, **dict(parsed.query)}
    conninfo = " ".join(f"{key}={quoted(value)}" for key, value in keys.items() if value is not None)
    environment = dict(os.environ)
    if parsed.password is not None:
        environment["PGPASSWORD"] = str(parsed.password)
    return conninfo, environment


def _run(args: list[str], url: str, marker: str, total: int, progress: Progress) -> None:
    conninfo, environment = _libpq(url)
    command = [*args, "--verbose", f"--dbname={conninfo}"]
    done, said = 0, []
    with subprocess.Popen(command, env=environment, stderr=subprocess.PIPE, text=True) as running:
        assert running.stderr is not None
        for line in running.stderr:
            said.append(line.strip())
            if marker in line:
                done += 1
                progress(min(done, total), total)
    if running.returncode != 0:
        errors = [line for line in said if "error" in line.lower()] or said or ["no output"]
        raise BackupError(f"{Path(args[0]).name} failed: {errors[0]}")
    progress(total, total)


def dump(engine: Engine, url: str, destination: Path, progress: Progress) -> dict[str, Any]:
    """`pg_dump` the database into `destination`; the facts of the manifest, read in the same snapshot."""
    program = client("pg_dump")
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        snapshot = str(conn.execute(text("SELECT pg_export_snapshot()")).scalar_one())
        found = facts(conn) | {"tables": table_count(conn)}
        args = [program, "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}"]
        _run([*args, f"--file={destination}"], url, _DUMPING, found["tables"], progress)
    return found


def load(url: str, source: Path, tables: int, progress: Progress) -> None:
    """`pg_restore` the dump `source` into the (empty) database at `url`, in one transaction."""
    args = [client("pg_restore"), "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges"]
    _run([*args, str(source)], url, _RESTORING, tables, progress)


def renumber_positions(engine: Engine) -> None:
    """Renumber the restored log's transaction ids (order kept) below this cluster's, and move webhook cursors."""
    with engine.begin() as conn:
        conn.execute(text(_MOVE_CURSORS))
        conn.execute(text(_RENUMBER))
        runs = int(conn.execute(text("SELECT coalesce(max(txid), 0) FROM events")).scalar_one())
    # A brand-new cluster may not have handed out that many ids yet: new events must come after the restored.
    with engine.connect() as conn:
        while int(conn.execute(text("SELECT pg_current_xact_id()::text::bigint")).scalar_one()) <= runs:
            conn.commit()
        conn.commit()
