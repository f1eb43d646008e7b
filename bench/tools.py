"""What the runner needs from the machine: `wrk` and friends from apt, cached peer venvs, free ports, a cache dir."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    """Venvs and generated databases kept between runs (outside the repo)."""
    path = Path(os.environ.get("NIXFLOW_BENCH_CACHE") or Path(tempfile.gettempdir()) / "nixflow-bench-cache")
    path.mkdir(parents=True, exist_ok=True)
    return path


def ensure_commands(needed: dict[str, str]) -> None:
    """Install the Debian package of every missing command (`{command: package}`) with apt-get."""
    missing = sorted({pkg for cmd, pkg in needed.items() if shutil.which(cmd) is None})
    if not missing:
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    log(f"installing {', '.join(missing)} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", *missing], check=True, env=env, stdout=subprocess.DEVNULL)


def cached_venv(requirements: Path) -> Path:
    """A venv with `requirements` installed, built once and reused (keyed by the file and the Python version)."""
    version = subprocess.run(["python3", "-VV"], capture_output=True, text=True, check=True).stdout
    key = hashlib.sha256((version + requirements.read_text()).encode()).hexdigest()[:16]
    root = cache_dir()
    venv = root / f"venv-{key}"
    with open(root / ".venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (venv / ".complete").exists():
            return venv
        log(f"building the venv for {requirements.name} in {venv} (once)")
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
        result = subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "-r", str(requirements)],
            capture_output=True,
            text=True,
            timeout=1200,
        )
        if result.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            raise RuntimeError(f"pip install -r {requirements.name} failed: {result.stderr.strip()[-500:]}")
        (venv / ".complete").touch()
    return venv


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll `check` until it is true; exceptions count as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
