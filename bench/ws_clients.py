"""Many WebSocket clients in one asyncio process, for the fan-out scenario (bench/scenarios/websocket.py).

  python -m bench.ws_clients <ws url with ?token=> <count>

Connects `count` clients to /api/ws, prints `READY <connected> <failed>`, and stamps the wall-clock time at which
each client receives each `ticket.created` event. Then it answers lines on stdin: `COUNT` with the number of such
receipts so far; `DUMP` with `{"<ticket id>": [epoch seconds, one per client that got it], ...}` as one JSON line,
after which it closes every connection and exits.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections import defaultdict

from websockets.asyncio.client import ClientConnection, connect

CONNECT_CONCURRENCY = 100
MARK = '"ticket.created"'


async def _listen(ws: ClientConnection, seen: dict[str, list[float]]) -> None:
    async for message in ws:
        if isinstance(message, str) and MARK in message:  # parse only what is measured
            at = time.time()
            event = json.loads(message)
            if event.get("type") == "ticket.created":
                seen[str(event["aggregate_id"])].append(at)


async def main(url: str, count: int) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    seen: dict[str, list[float]] = defaultdict(list)
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    sockets: list[ClientConnection] = []
    failed = 0

    async def open_one() -> None:
        nonlocal failed
        async with gate:
            try:
                ws = await connect(url, ping_interval=None, open_timeout=120, close_timeout=2, max_size=None)
            except Exception:
                failed += 1
                return
        sockets.append(ws)

    await asyncio.gather(*(open_one() for _ in range(count)))
    listeners = [asyncio.create_task(_listen(ws, seen)) for ws in sockets]
    print(f"READY {len(sockets)} {failed}", flush=True)
    loop = asyncio.get_running_loop()
    while (command := (await loop.run_in_executor(None, sys.stdin.readline)).strip()) not in ("DUMP", ""):
        if command == "COUNT":
            print(sum(len(times) for times in seen.values()), flush=True)
    print(json.dumps(seen), flush=True)
    for task in listeners:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
