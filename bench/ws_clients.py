"""Many WebSocket clients in one asyncio process, for the fan-out scenario (bench/scenarios/websocket.py).

  python -m bench.ws_clients <ws url with ?token=> <count> [--per-event]

Connects `count` clients to /api/ws, asking for pages (`&pages=1`, as the web UI does: one JSON array frame per
page of events) unless `--per-event` (one frame per event, as older clients get), prints `READY <connected>
<failed>`, and stamps the wall-clock time at which each client receives each `ticket.created` event. Then it
answers lines on stdin: `COUNT` with the number of such receipts so far; `DUMP` with `{"<ticket id>": [epoch
seconds, one per client that got it], ...}` as one JSON line, after which it closes every connection and exits.

Each client is the `websockets` Sans-I/O protocol (`ClientProtocol`) under a plain asyncio protocol, on uvloop:
frames are parsed and stamped in `data_received`, with no task or queue per message. The clients share the
server's cores, so every microsecond they spend per message is taken from the server being measured.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections import defaultdict
from typing import cast
from urllib.parse import urlsplit

from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

CONNECT_CONCURRENCY = 100
OPEN_TIMEOUT_S = 120
MARK = b'"type": "ticket.created"'  # an envelope's own type (json.dumps' separators), not a mention in data
AGGREGATE = b'"aggregate_id": "'  # comes after `type` in an envelope


class Client(asyncio.Protocol):
    """One connection: the handshake, then every text message checked for the measured event."""

    def __init__(self, url: str, seen: dict[str, list[float]]) -> None:
        self.ws = ClientProtocol(parse_uri(url), max_size=None)
        self.seen = seen
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.fragments: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
        self.ws.send_request(self.ws.connect())
        self.flush()

    def data_received(self, data: bytes) -> None:
        at = time.time()  # every frame of this read arrived now
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                if not self.opened.done():
                    if self.ws.handshake_exc is None:
                        self.opened.set_result(None)
                    else:
                        self.opened.set_exception(self.ws.handshake_exc)
            elif event.opcode in (Opcode.TEXT, Opcode.CONT):
                self.fragments.append(bytes(event.data))
                if event.fin:
                    self.message(b"".join(self.fragments), at)
                    self.fragments = []
        self.flush()  # pongs, and the reply to a close

    def message(self, message: bytes, at: float) -> None:
        """Stamp each `ticket.created` envelope of a frame (one event, or a page of them) with no JSON parse: a
        page holds a unit of work's every event, and parsing it all in each client would take the server's CPU."""
        found = message.find(MARK)
        while found >= 0:
            start = message.index(AGGREGATE, found) + len(AGGREGATE)
            self.seen[message[start : message.index(b'"', start)].decode()].append(at)
            found = message.find(MARK, start)

    def flush(self) -> None:
        assert self.transport is not None
        for chunk in self.ws.data_to_send():
            if chunk:
                self.transport.write(chunk)
            elif self.transport.can_write_eof():
                self.transport.write_eof()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.ws.send_close()
            self.flush()


async def main(url: str, count: int) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    seen: dict[str, list[float]] = defaultdict(list)
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    clients: list[Client] = []
    failed = 0
    loop = asyncio.get_running_loop()
    address = urlsplit(url)

    async def open_one() -> None:
        nonlocal failed
        async with gate:
            try:
                async with asyncio.timeout(OPEN_TIMEOUT_S):
                    _transport, client = await loop.create_connection(
                        lambda: Client(url, seen), address.hostname, address.port
                    )
                    await client.opened
            except Exception:
                failed += 1
                return
        clients.append(client)

    await asyncio.gather(*(open_one() for _ in range(count)))
    print(f"READY {len(clients)} {failed}", flush=True)
    while (command := (await loop.run_in_executor(None, sys.stdin.readline)).strip()) not in ("DUMP", ""):
        if command == "COUNT":
            print(sum(len(times) for times in seen.values()), flush=True)
    print(json.dumps(seen), flush=True)
    for client in clients:
        client.close()
    await asyncio.sleep(1)  # the server's close replies
    for client in clients:
        if client.transport is not None:
            client.transport.close()


def run() -> None:
    url = sys.argv[1] if "--per-event" in sys.argv[3:] else sys.argv[1] + "&pages=1"
    try:
        import uvloop
    except ImportError:  # uvicorn[standard] brings it where it builds; plain asyncio otherwise
        asyncio.run(main(url, int(sys.argv[2])))
    else:
        uvloop.run(main(url, int(sys.argv[2])))


if __name__ == "__main__":
    run()
