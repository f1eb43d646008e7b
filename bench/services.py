"""The runner's own PostgreSQL and Redis for the scale-out scenarios: loopback, free ports, a temp dir, stopped after.

PostgreSQL runs with `track_commit_timestamp = on` (true commit times of the events) and
`synchronous_commit = off`: like SQLite's WAL with `synchronous=NORMAL` in embedded mode, a crash of the
process loses nothing and a crash of the OS may lose the last moments. Redis appends to its AOF every second.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import redis
from sqlalchemy import create_engine, text

from bench.procs import Proc, spawn
from bench.tools import free_port, wait_for


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not found:
        raise RuntimeError("PostgreSQL binaries not found under /usr/lib/postgresql (apt-get install postgresql)")
    return found[-1]


def _as_postgres(*args: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


class OwnPostgres:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="nixflow-bench-pg-"))
        self.port = free_port()
        self.proc: Proc | None = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> Proc:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        data = self.dir / "data"
        subprocess.run(_as_postgres(str(_pg_bin() / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"),
                       check=True, capture_output=True, timeout=120)  # fmt: skip
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c max_connections=200 -c shared_buffers=128MB"
            " -c track_commit_timestamp=on -c synchronous_commit=off"
        )
        subprocess.run(
            _as_postgres(str(_pg_bin() / "pg_ctl"), "-D", str(data), "-l", str(self.dir / "log"), "-w", "-o", options,
                         "start"),
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        pid = int((data / "postmaster.pid").read_text().splitlines()[0])
        self.proc = Proc(name="postgres (postmaster + backends)", pid=pid, tree=True)
        return self.proc

    def create_database(self, name: str) -> str:
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        engine.dispose()
        return self.url(name)

    def stop(self) -> None:
        if self.proc is not None:
            subprocess.run(
                _as_postgres(str(_pg_bin() / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop"),
                check=False, capture_output=True, timeout=120,
            )  # fmt: skip
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


class OwnRedis:
    def __init__(self, workdir: Path) -> None:
        self.dir = workdir / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: Proc | None = None

    def start(self) -> Proc:
        argv = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.dir),
                "--save", "", "--appendonly", "yes", "--appendfsync", "everysec"]  # fmt: skip
        self.proc = spawn("redis-server", argv, env=dict(os.environ), log_path=self.dir / "redis.log")
        wait_for(lambda: bool(redis.Redis(port=self.port).ping()), timeout=30, what="redis-server")
        return self.proc

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
            self.proc = None
