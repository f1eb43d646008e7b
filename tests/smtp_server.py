"""A real SMTP server in the test process (aiosmtpd's Controller), recording the mail it accepts."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def addressed(messages: list[EmailMessage], address: str) -> list[EmailMessage]:
    """Those of `messages` sent to `address` (or to any address containing it)."""
    return [m for m in messages if address in str(m["To"])]


class Inbox:
    """The aiosmtpd handler: keeps every accepted mail; can hold one DATA command until released."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.hold_next = False
        self.held = threading.Event()  # a DATA command is being held
        self.release = threading.Event()
        self.refused: set[str] = set()  # addresses answered 550
        self._lock = threading.Lock()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refused:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.hold_next:
            self.hold_next = False
            self.held.set()
            await asyncio.to_thread(self.release.wait)
            return "451 4.3.0 not accepted: the client went away"
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        parsed["Return-Path"] = f"<{envelope.mail_from}>"  # as the final MTA records the envelope sender
        with self._lock:
            self.messages.append(parsed)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return addressed(self.messages, address)

    def before_first_to(self, address: str, *, timeout: float = 30.0) -> list[EmailMessage]:
        """Block until a mail to `address` arrived; return the mail that arrived before it, in order."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                for n, message in enumerate(self.messages):
                    if address in str(message["To"]):
                        return self.messages[:n]
            if time.monotonic() > deadline:
                raise AssertionError(f"no mail to {address} within {timeout} s")
            time.sleep(0.05)

    def wait_for(self, count: int, *, address: str | None = None, timeout: float = 20.0) -> list[EmailMessage]:
        """Block until at least `count` mails (to `address`) arrived; return them."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.to(address) if address else list(self.messages)
            if len(got) >= count or time.monotonic() > deadline:
                return got
            time.sleep(0.05)


class SmtpServer:
    """A Controller that can be stopped and started again on the same port (an outage)."""

    def __init__(self, inbox: Inbox, port: int) -> None:
        self.inbox = inbox
        self.port = port
        self.controller: Controller | None = None
        self.options: dict[str, Any] = {}  # for aiosmtpd's SMTP (auth_required, ...)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **self.options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(Inbox(), free_port())
    server.start()
    try:
        yield server
    finally:
        server.inbox.release.set()
        server.stop()
