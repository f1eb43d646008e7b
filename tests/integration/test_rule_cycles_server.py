"""A real `nixflow serve` with 400 fighting rules (what a fuzzer left behind): tickets are answered, health
stays responsive while they are automated, the log says one line per cycle, and SIGTERM stops the server."""

from __future__ import annotations

import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from tests.conftest import PASSWORD
from tests.integration.test_rule_cycles import RULES, fighting_rules
from tests.scaleout.cluster import free_port, wait_until
from tests.security.serving import NIXFLOW, cli, embedded_env

# Generous liveness bounds, not benchmarks: before the cycle semantics one ticket kept the server busy for minutes.
ANSWER_SECONDS = 30.0
HEALTH_SECONDS = 5.0
GRACE_SECONDS = 10.0  # what a container runtime waits after SIGTERM before it kills
TICKETS = 3


def _admin_token(home: Path, env: dict[str, str]) -> str:
    cli(home, env, "db", "upgrade")
    user = ("--email", "admin@example.com", "--name", "Admin", "--role", "admin", "--password", PASSWORD)
    cli(home, env, "users", "create", *user)
    return cli(home, env, "tokens", "create", "--email", "admin@example.com")


def test_a_server_with_400_fighting_rules_answers_stays_healthy_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = embedded_env(tmp_path)
    bearer = {"Authorization": f"Bearer {_admin_token(tmp_path, env)}"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*NIXFLOW, "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: httpx.get(f"{base}/api/health", timeout=1).status_code == 200, timeout=60, what="serve")
        with httpx.Client(base_url=base, headers=bearer, timeout=ANSWER_SECONDS) as client:
            for rule in fighting_rules(RULES):
                assert client.post("/api/rules", json=rule).status_code == 201

            def open_ticket(i: int) -> int:
                return client.post("/api/tickets", json={"title": f"Core switch {i} is down"}).status_code

            with ThreadPoolExecutor(TICKETS) as pool:
                answers = [pool.submit(open_ticket, i) for i in range(TICKETS)]
                checks = 0
                while checks == 0 or not all(a.done() for a in answers):
                    health = httpx.get(f"{base}/api/health", timeout=HEALTH_SECONDS)
                    assert health.status_code == 200
                    checks += 1
                assert [a.result() for a in answers] == [201] * TICKETS
        server.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        server.wait(timeout=GRACE_SECONDS)
        assert time.monotonic() - stopped_at < GRACE_SECONDS
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    # One line per ticket's cycle says what the rules did; none per evaluation.
    cycles = [line for line in log.read_text().splitlines() if "rules evaluated" in line]
    assert len(cycles) == TICKETS, cycles
    assert all("ticket.created" in line and "fired" in line for line in cycles)
