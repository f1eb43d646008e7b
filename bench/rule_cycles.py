"""Work per ticket with many fighting rules, through a real `nixflow serve`: bounded by rules x passes.

Run: .venv/bin/python bench/rule_cycles.py [--rules 400] [--tickets 20]
Opens tickets with the default rules only, then again after adding `--rules` active rules with empty conditions
and conflicting actions (what a fuzzer leaves behind), and prints for each: the POST latency, the events each
ticket got and how many rules fired on it. Before rule cycles (each rule once per ticket and request) one such
ticket kept the server busy for minutes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from common import percentiles, server

# Conflicting actions, one per rule in turn; the conditions are empty: every rule matches every new ticket.
FIGHTS = (
    [{"type": "set_priority", "value": "low"}],
    [{"type": "set_priority", "value": "high"}],
    [{"type": "assign_round_robin"}],
    [{"type": "escalate", "level": 2}, {"type": "notify", "role": "admin"}],
)


def _measure(client: httpx.Client, category: int, tickets: int, label: str) -> None:
    latencies: list[float] = []
    events: list[int] = []
    fired: list[int] = []
    for i in range(tickets):
        start = time.perf_counter()
        response = client.post("/api/tickets", json={"title": f"switch {i} is down", "category_id": category})
        response.raise_for_status()
        latencies.append((time.perf_counter() - start) * 1000)
        timeline = client.get(f"/api/tickets/{response.json()['id']}/events").json()
        events.append(len(timeline))
        fired.append(len([e for e in timeline if e["type"].startswith("automation.rule_")]))
    print(f"{label}: POST /api/tickets {percentiles(latencies)}")
    print(f"{label}: events per ticket {statistics.median(events)}, rules fired per ticket {statistics.median(fired)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rules", type=int, default=400)
    parser.add_argument("--tickets", type=int, default=20)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        server(Path(tmp)) as (base, headers),
        httpx.Client(base_url=base, headers=headers, timeout=120) as client,
    ):
        category = client.post("/api/categories", json={"name": "Network"}).json()["id"]
        _measure(client, category, args.tickets, "default rules")
        for n in range(args.rules):
            kind = "assignment" if n % 2 else "prioritization"
            rule = {"name": f"fight {n}", "kind": kind, "conditions": {}, "actions": FIGHTS[n % len(FIGHTS)]}
            client.post("/api/rules", json=rule).raise_for_status()
        _measure(client, category, args.tickets, f"+{args.rules} fighting rules")


if __name__ == "__main__":
    main()
