"""`nixflow worker --metrics-port`: a process without the API serves its own /metrics (one endpoint per process)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
from tests.scaleout.cluster import free_port, wait_until
from tests.security.serving import NIXFLOW, cli, embedded_env


def test_the_worker_serves_its_own_metrics(tmp_path: Path) -> None:
    env = embedded_env(tmp_path) | {"NIXFLOW_TICK_SECONDS": "0.2"}
    cli(tmp_path, env, "db", "upgrade")
    port = free_port()
    with (tmp_path / "worker.log").open("wb") as out:
        worker = subprocess.Popen(
            [*NIXFLOW, "worker", "--metrics-port", str(port)], cwd=tmp_path, env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:

        def sla_ticked() -> bool:
            try:
                text = httpx.get(f"{url}/metrics", timeout=1).text
            except httpx.TransportError:
                return False
            return 'nixflow_periodic_job_duration_seconds_count{job="sla-and-escalation"}' in text

        wait_until(sla_ticked, timeout=60, what="the worker's SLA tick in its metrics")
        text = httpx.get(f"{url}/metrics", timeout=5).text
        assert "nixflow_events_unfinished " in text and 'nixflow_consumer_lag_events{consumer="tailer"}' in text
        assert httpx.get(f"{url}/api/health", timeout=5).status_code == 404  # metrics only, no API
    finally:
        worker.terminate()
        worker.wait(timeout=30)
