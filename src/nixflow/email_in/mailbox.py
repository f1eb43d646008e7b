"""Polling a mailbox (`NIXFLOW_IMAP_URL`) with imap-tools: every unseen message goes through the intake, and is
flagged seen (or moved) only after the intake committed it, so a crash or an outage in between loses nothing.

Where the server offers IDLE the poller waits in it, so a new message is taken at once; else it polls every
`NIXFLOW_IMAP_POLL_SECONDS`. The conversation is blocking (imap-tools), so it runs on a thread.

A URL without a password signs in with OAuth2 (OAUTHBEARER where offered, else XOAUTH2) as the OAuth2 mailbox
connected for its user (`services.mail_tokens`); while that mailbox is paused, the poller does not sign in, and
its mail waits unseen on the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import threading
import time

import anyio.from_thread
import anyio.to_thread
from imap_tools import AND, BaseMailBox, MailMessageFlags

from nixflow.domain.errors import ServiceUnavailable
from nixflow.email_in import intake, quarantine
from nixflow.email_in.imap_target import ImapTarget, OAuthRefused
from nixflow.email_in.intake import IntakeConfig
from nixflow.email_in.parse import ParsedMail, Unreadable
from nixflow.observe import tracing
from nixflow.services.mail_tokens import MailboxPaused, MailTokens
from nixflow.store.db import unavailable
from nixflow.store.writer import Writer

log = logging.getLogger(__name__)


def _announced(box: BaseMailBox) -> bool:
    """Whether the server announced new mail (EXISTS or RECENT) since the last call; forgets the announcements."""
    untagged = box.client.untagged_responses
    return bool(untagged.pop("EXISTS", None)) | bool(untagged.pop("RECENT", None))


def _buffered(box: BaseMailBox) -> bool:
    """Whether the server's answer has lines already read off the socket that nobody has looked at yet."""
    sock = box.client.sock
    old_timeout = sock.gettimeout()
    sock.settimeout(0)
    try:
        reader = box.client.file
        return isinstance(reader, io.BufferedReader) and bool(reader.peek(1))
    except OSError:  # nothing there to read now (non-blocking socket, plain or TLS)
        return False
    finally:
        sock.settimeout(old_timeout)


class MailboxPoller:
    """Takes the unseen mail of one mailbox into NixFlow; `poll_once` in burst mode, `start`/`stop` as a loop."""

    def __init__(
        self,
        *,
        url: str,
        writer: Writer,
        config: IntakeConfig,
        poll_seconds: float,
        tokens: MailTokens | None = None,
    ) -> None:
        self.target = ImapTarget.from_url(url)
        self.tokens = tokens  # for a URL without a password: the OAuth2 mailbox of its user
        self.writer = writer
        self.config = config
        self.poll_seconds = poll_seconds
        self.timeout = 30.0
        self._box: BaseMailBox | None = None
        self._stopping = threading.Event()
        self._task: asyncio.Task[None] | None = None
        self._passed: set[str] = set()  # the unseen uids the last pass saw

    def _mailbox(self) -> BaseMailBox:
        if self._box is None:
            self._box = self._signed_in()
        return self._box

    def _signed_in(self) -> BaseMailBox:
        """A new connection (blocking): with the URL's password, else with the OAuth2 mailbox's access token, which
        is refreshed once if the server refuses it (revoked or expired early)."""
        tokens = self.tokens
        if self.target.password or tokens is None:
            return self.target.connect(self.timeout)
        login = anyio.from_thread.run(tokens.login_for, self.target.username)
        try:
            return self.target.connect(self.timeout, login)
        except OAuthRefused as exc:
            log.info("mailbox refused the access token, refreshing it once: %s", exc)
            tokens.forget(login.user)
        return self.target.connect(self.timeout, anyio.from_thread.run(tokens.login_for, self.target.username))

    def _close(self) -> None:
        box, self._box = self._box, None
        if box is not None:
            with contextlib.suppress(Exception):  # the connection is gone already
                box.logout()

    def _raw(self, box: BaseMailBox, uid: str) -> bytes | None:
        status, data = box.client.uid("FETCH", uid, "(BODY.PEEK[])")
        if status != "OK":
            return None
        for item in data:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                return item[1]
        return None

    async def _take_one(self, raw: bytes, mail: ParsedMail | Exception) -> intake.Outcome | quarantine.Held:
        return await quarantine.take(self.writer, raw, mail, source="imap", config=self.config)

    def _done(self, box: BaseMailBox, uid: str) -> None:
        """The message is committed (or can never be read): take it out of the unseen set."""
        if self.target.move_to:
            box.move(uid, self.target.move_to)
        else:
            box.flag(uid, MailMessageFlags.SEEN, True)

    def _take(self) -> int:
        """One pass over the unseen messages (blocking), traced; returns how many were taken."""
        with tracing.outgoing("imap poll", None, mailbox=self.target.folder):
            return self._take_unseen()

    def _take_unseen(self) -> int:
        box = self._mailbox()
        taken = 0
        unseen = box.uids(AND(seen=False))
        self._passed = set(unseen)
        for uid in unseen:
            raw = self._raw(box, uid)
            if raw is None:
                continue
            try:
                mail = quarantine.read(raw, self.config)
            except Unreadable as exc:
                log.warning("mailbox message %s can never be read (%s): flagged seen, not stored", uid, exc)
                self._done(box, uid)
                continue
            # Stored, or held in quarantine (then the pass goes on); an outage raises and leaves it unseen.
            result = anyio.from_thread.run(self._take_one, raw, mail)
            self._done(box, uid)  # only now: a failure above leaves it unseen, taken again next time
            if isinstance(result, quarantine.Held):
                log.warning("mailbox message %s held in quarantine %s: %s", uid, result.quarantine_id, result.error)
            else:
                log.info("mail %s from the mailbox: %s", result.message_id, result.outcome)
            taken += 1
        return taken

    async def poll_once(self) -> int:
        """Take every unseen message now (burst mode)."""
        try:
            return await anyio.to_thread.run_sync(self._take)
        except Exception:
            self._close()
            raise

    def _wait_for_news(self) -> None:
        """Wait in IDLE (if offered) or sleep, up to `poll_seconds`, waking early to stop."""
        box = self._mailbox()
        deadline = time.monotonic() + self.poll_seconds
        if "IDLE" not in box.client.capabilities:
            while not self._stopping.is_set() and time.monotonic() < deadline:
                self._stopping.wait(min(1.0, max(0.0, deadline - time.monotonic())))
            return
        # Mail that came during the pass was announced (EXISTS) in the answer to one of its commands, not in IDLE:
        # look once more before waiting, or it would wait for the next poll.
        _announced(box)
        if set(box.uids(AND(seen=False))) - self._passed:
            return
        box.idle.start()  # type: ignore[no-untyped-call]
        try:
            # Mail that came between that look and IDLE is announced with IDLE's "+ idling", often in the same packet:
            # then it is already read off the socket (an untagged answer, or in the reader's buffer), and waiting on
            # the socket would not see it.
            if _announced(box) or _buffered(box):
                return
            while not self._stopping.is_set() and time.monotonic() < deadline:
                if box.idle.poll(timeout=1):
                    break
        finally:
            box.idle.stop()  # type: ignore[no-untyped-call]

    async def _forever(self) -> None:
        failing: str | None = None
        while not self._stopping.is_set():
            try:
                await anyio.to_thread.run_sync(self._take)
                await anyio.to_thread.run_sync(self._wait_for_news)
                if failing is not None:
                    log.info("mailbox polling works again")
                    failing = None
            except Exception as exc:
                self._close()
                summary = f"{type(exc).__name__}: {exc}".splitlines()[0]
                if summary != failing:
                    outage = isinstance(exc, ServiceUnavailable | OSError) or unavailable(exc)
                    kind = "paused" if isinstance(exc, MailboxPaused) else "outage" if outage else "error"
                    log.warning("mailbox polling failing (%s), retried: %s", kind, summary)
                    failing = summary
                await anyio.to_thread.run_sync(self._stopping.wait, min(self.poll_seconds, 5.0))
        self._close()

    def start(self) -> None:
        """Poll in the background until `stop`."""
        self._stopping.clear()
        self._task = asyncio.create_task(self._forever(), name="nixflow-mailbox")

    async def stop(self) -> None:
        """Stop polling: the current pass may finish; a wait in IDLE ends within a second."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            _done, late = await asyncio.wait({task}, timeout=15)
            if late:
                task.cancel()
