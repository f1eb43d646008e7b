"""Real NixFlow processes (API and workers) and private PostgreSQL/Redis servers for scale-out tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

NIXFLOW = [sys.executable, "-m", "nixflow.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: object, *, timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except Exception:
            pass
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Cluster:
    """API processes (`serve --no-worker`) and workers sharing one PostgreSQL and one Redis."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = {**os.environ, **env}
        self.apis: list[tuple[subprocess.Popen[bytes], str]] = []
        self.workers: list[subprocess.Popen[bytes]] = []

    def cli(self, *args: str) -> str:
        result = subprocess.run([*NIXFLOW, *args], env=self.env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def _log(self, name: str) -> object:
        return open(self.workdir / f"{name}.log", "ab")  # the child process owns it

    def start_api(self) -> str:
        """An API process without a worker (`serve --no-worker`); returns its base URL."""
        return self.start_api_process(["serve", "--no-worker", "--port", str(free_port())])

    def start_api_process(self, args: list[str]) -> str:
        """`nixflow <args>` serving HTTP on the `--port` among the args; returns its base URL."""
        port = int(args[args.index("--port") + 1])
        log = self._log(f"api-{port}")
        proc = subprocess.Popen([*NIXFLOW, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT)  # type: ignore[arg-type]
        base = f"http://127.0.0.1:{port}"
        wait_until(
            lambda: httpx.get(f"{base}/api/health", timeout=1).status_code in (200, 503),
            timeout=60,
            what=f"API on {port}",
        )
        self.apis.append((proc, base))
        return base

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = self._log(f"worker-{len(self.workers)}")
        proc = subprocess.Popen([*NIXFLOW, "worker"], env=self.env, stdout=log, stderr=subprocess.STDOUT)  # type: ignore[arg-type]
        self.workers.append(proc)
        return proc

    def stop(self) -> None:
        for proc in [p for p, _ in self.apis] + self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [p for p, _ in self.apis] + self.workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()

    def alive(self) -> bool:
        return all(p.poll() is None for p, _ in self.apis) and all(w.poll() is None for w in self.workers)


def _as_postgres(*args: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


def _pg_bin() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    return versions[-1]


class PrivatePostgres:
    """A PostgreSQL cluster of this test's own, so it can be stopped and started."""

    def __init__(self, workdir: Path) -> None:
        # Not under pytest's private tmp folder: the `postgres` user must be able to reach it.
        self.dir = Path(tempfile.mkdtemp(prefix="nixflow-pg-")) / "pg"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self.dir.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir.parent, "postgres")
            shutil.chown(self.dir, "postgres")
        subprocess.run(
            _as_postgres(str(_pg_bin() / "initdb"), "-D", str(self.dir / "data"), "-U", "postgres", "--auth=trust"),
            check=True,
            capture_output=True,
        )
        self.start()

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off -c max_connections=200"
        subprocess.run(
            _as_postgres(
                str(_pg_bin() / "pg_ctl"),
                "-D",
                str(self.dir / "data"),
                "-l",
                str(self.dir / "log"),
                "-w",
                "-o",
                options,
                "start",
            ),
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        subprocess.run(
            _as_postgres(str(_pg_bin() / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop"),
            check=False,
            capture_output=True,
        )

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir.parent, ignore_errors=True)


class PrivateRedis:
    """A Redis server of this test's own (append-only file on), so it can be stopped and started."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.dir),
                "--save",
                "",
                "--appendonly",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        wait_until(lambda: redis.Redis(port=self.port).ping(), timeout=20, what="redis")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
            self.proc = None


@contextmanager
def running(cluster: Cluster) -> Iterator[Cluster]:
    try:
        yield cluster
    finally:
        cluster.stop()


class SentinelRedis:
    """A Redis primary, its replica and one sentinel (quorum 1) of this test's own, on loopback: the primary can be
    killed and the sentinel promotes the replica within a few seconds."""

    SERVICE = "nixflow"

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir / "sentinel"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.primary_port, self.replica_port, self.sentinel_port = free_port(), free_port(), free_port()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def sentinels(self) -> str:
        return f"127.0.0.1:{self.sentinel_port}"

    def _server(self, name: str, port: int, *extra: str) -> None:
        data = self.dir / name
        data.mkdir(exist_ok=True)
        args = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data), "--save", ""]
        self.procs[name] = subprocess.Popen([*args, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> None:
        import redis

        self._server("primary", self.primary_port, "--appendonly", "yes")
        self._server(
            "replica", self.replica_port, "--appendonly", "yes", "--replicaof", "127.0.0.1", str(self.primary_port)
        )
        replica = redis.Redis(port=self.replica_port, decode_responses=True)
        wait_until(
            lambda: replica.info("replication")["master_link_status"] == "up", timeout=20, what="replica in sync"
        )
        conf = self.dir / "sentinel.conf"  # the sentinel rewrites its own file
        conf.write_text(
            f"port {self.sentinel_port}\nbind 127.0.0.1\ndir {self.dir}\n"
            f"sentinel monitor {self.SERVICE} 127.0.0.1 {self.primary_port} 1\n"
            f"sentinel down-after-milliseconds {self.SERVICE} 1000\n"
            f"sentinel failover-timeout {self.SERVICE} 5000\n"
            f"sentinel parallel-syncs {self.SERVICE} 1\n"
        )
        self.procs["sentinel"] = subprocess.Popen(
            ["redis-server", str(conf), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        sentinel = redis.Redis(port=self.sentinel_port, decode_responses=True)
        wait_until(
            lambda: any(int(r["port"]) == self.replica_port for r in sentinel.sentinel_slaves(self.SERVICE)),
            timeout=30,
            what="the sentinel to know the replica",
        )

    def primary(self) -> int:
        """The port of the server the sentinel names primary now."""
        import redis

        host_port = redis.Redis(port=self.sentinel_port).sentinel_get_master_addr_by_name(self.SERVICE)
        return int(host_port[1])

    def kill_primary(self) -> None:
        proc = self.procs.pop("primary")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=20)

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            proc.wait(timeout=20)
        self.procs.clear()
