"""End to end through a real `nixflow serve`: POST /api/tickets until its `ticket.assigned` event (round-robin).

Run: .venv/bin/python bench/automation_latency.py [--tickets 300]
Latency is measured to the assigned event's own commit timestamp (same machine clock), so the polling that
finds it adds nothing; the time until the client saw it by polling is printed as well.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from common import percentiles, server


def _assigned_event(client: httpx.Client, ticket_id: int, deadline: float) -> dict[str, object]:
    while time.perf_counter() < deadline:
        for event in client.get(f"/api/tickets/{ticket_id}/events").json():
            if event["type"] == "ticket.assigned":
                return dict(event)
        time.sleep(0.002)
    raise TimeoutError(f"ticket {ticket_id} was not assigned in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=300)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        server(Path(tmp)) as (base, headers),
        httpx.Client(base_url=base, headers=headers, timeout=30) as client,
    ):
        category = client.post("/api/categories", json={"name": "Network"}).json()["id"]
        for name in ("ana", "ben", "cleo"):
            client.post(
                "/api/users",
                json={
                    "email": f"{name}@example.com",
                    "name": name,
                    "role": "agent",
                    "password": "bench-password-1",
                    "category_ids": [category],
                },
            ).raise_for_status()
        committed: list[float] = []
        observed: list[float] = []
        for i in range(args.tickets + 20):
            sent_at = datetime.now(UTC)
            start = time.perf_counter()
            response = client.post(
                "/api/tickets",
                json={"title": f"switch {i} is down", "description": "rack 4", "category_id": category},
            )
            response.raise_for_status()
            event = _assigned_event(client, response.json()["id"], start + 30)
            seen_ms = (time.perf_counter() - start) * 1000
            at = datetime.fromisoformat(str(event["timestamp"]).replace("Z", "+00:00"))
            if i >= 20:  # the first ones warm up the server
                committed.append((at - sent_at).total_seconds() * 1000)
                observed.append(seen_ms)
    print(f"POST /api/tickets -> ticket.assigned committed: {percentiles(committed)}")
    print(f"POST /api/tickets -> ticket.assigned seen by a polling client: {percentiles(observed)}")


if __name__ == "__main__":
    main()
