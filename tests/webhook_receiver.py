"""A real HTTP receiver in the test process (http.server on loopback) that checks every webhook it gets with
the Standard Webhooks library, answers as a test scripts it, and can be taken down and brought back; and
subscriptions stored without the API's checks."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from nixflow.crypto import keyring
from nixflow.webhooks import subscriptions
from tests.conftest import Harness
from tests.scaleout.cluster import free_port


@dataclass
class Received:
    """One request as it arrived, and which of the receiver's secrets its signature verifies with."""

    headers: dict[str, str]
    raw: bytes
    verified_by: set[str] = field(default_factory=set)

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def body(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.raw)
        return parsed

    def verifies_with(self, secret: str) -> bool:
        try:
            Webhook(secret).verify(self.raw, self.headers)
        except WebhookVerificationError:
            return False
        return True


class Receiver:
    """The receiver's state: what came in, what to answer next, whether to hold the next request."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.secrets: list[str] = []  # every request is verified against each of these
        self.received: list[Received] = []
        self.script: list[int] = []  # status codes to answer, in turn; then 200
        self.hold_next = False
        self.held = threading.Event()  # a request is being held
        self.release = threading.Event()
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/nixflow"

    def up(self) -> None:
        """Listen (again) on the receiver's port."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver.took(self, {k.lower(): v for k, v in self.headers.items()}, raw)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        """Stop listening: connections are refused until `up`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def took(self, handler: BaseHTTPRequestHandler, headers: dict[str, str], raw: bytes) -> None:
        got = Received(headers, raw)
        got.verified_by = {s for s in self.secrets if got.verifies_with(s)}
        with self._changed:
            hold, self.hold_next = self.hold_next, False
            status = self.script.pop(0) if self.script else 200
        if hold:
            self.held.set()
            self.release.wait(120)
        with self._changed:
            self.received.append(got)
            self._changed.notify_all()
        try:
            handler.send_response(status)
            handler.send_header("content-type", "text/plain")
            handler.end_headers()
            handler.wfile.write(f"answered {status}".encode())
        except OSError:
            pass  # the sender is gone (killed while we held its request)

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        """The first `count` requests, once that many have come in."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    ids = [r.webhook_id for r in self.received]
                    raise AssertionError(f"{len(self.received)} of {count} webhooks arrived within {timeout} s: {ids}")
                self._changed.wait(left)
            return list(self.received[:count])

    def until(self, webhook_id: str, timeout: float = 30) -> list[Received]:
        """Every request up to and including the first with `webhook_id`, once that one has come in."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                ids = [r.webhook_id for r in self.received]
                if webhook_id in ids:
                    return list(self.received[: ids.index(webhook_id) + 1])
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"webhook {webhook_id} did not arrive within {timeout} s: {ids}")
                self._changed.wait(left)

    def first(self, wanted: Callable[[Received], bool], timeout: float = 30) -> Received:
        """The first request that `wanted` accepts, once it has come in."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [r for r in self.received if wanted(r)]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no such webhook arrived within {timeout} s: {len(self.received)} others")
                self._changed.wait(left)

    def bodies(self) -> list[dict[str, Any]]:
        with self._changed:
            return [r.body for r in self.received]


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver(free_port())
    receiver.up()
    try:
        yield receiver
    finally:
        receiver.release.set()
        receiver.down()


async def stored_subscription(
    h: Harness, url: str = "https://93.184.216.34/hook", event_types: list[str] | None = None, *, mode: str = "paused"
) -> dict[str, Any]:
    """A subscription written straight through the service (no target check); paused ones send nothing."""
    keys = keyring(h.nixflow.settings)
    made: dict[str, Any] = await h.write(
        lambda tx: subscriptions.create(
            tx, keys=keys, url=url, event_types=event_types or ["*"], category_id=None, mode=mode, description=""
        )
    )
    return made
