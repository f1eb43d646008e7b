"""Where the mailbox is (`NIXFLOW_IMAP_URL`) and how to sign in to it: with the URL's password, or with an OAuth2
access token (OAUTHBEARER where the server offers it, else XOAUTH2)."""

from __future__ import annotations

import contextlib
import imaplib
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted

from nixflow.mailwire import sasl
from nixflow.mailwire.sasl import OAuthLogin


class OAuthRefused(Exception):
    """The IMAP server refused the access token."""


@dataclass(frozen=True)
class ImapTarget:
    """`imaps://user:pass@host:993/INBOX`, `imap://...?starttls=true`; `?move_to=Folder` moves what was taken."""

    hostname: str
    port: int
    username: str
    password: str
    folder: str
    tls: bool
    starttls: bool
    move_to: str | None

    @classmethod
    def from_url(cls, url: str) -> ImapTarget:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        implicit = parts.scheme == "imaps"
        return cls(
            hostname=parts.hostname or "localhost",
            port=parts.port or (993 if implicit else 143),
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            folder=unquote(parts.path.lstrip("/")) or "INBOX",
            tls=implicit,
            starttls=query.get("starttls", ["false"])[0].lower() in ("true", "1", "yes"),
            move_to=query.get("move_to", [None])[0],
        )

    def connect(self, timeout: float, login: OAuthLogin | None = None) -> BaseMailBox:
        """A signed-in connection: with the URL's password, or with `login`'s access token."""
        box: BaseMailBox
        if self.tls:
            box = MailBox(self.hostname, self.port, timeout=timeout)
        elif self.starttls:
            box = MailBoxStartTls(self.hostname, self.port, timeout=timeout)
        else:
            box = MailBoxUnencrypted(self.hostname, self.port, timeout=timeout)
        if login is None:
            return box.login(self.username, self.password, initial_folder=self.folder)
        try:
            self._authenticate(box, login)
        except Exception:
            with contextlib.suppress(Exception):
                box.client.shutdown()
            raise
        box.folder.set(self.folder)
        return box

    def _authenticate(self, box: BaseMailBox, login: OAuthLogin) -> None:
        offered = [c[5:] for c in box.client.capabilities if c.upper().startswith("AUTH=")]
        name = sasl.mechanism(offered) or sasl.XOAUTH2
        first = sasl.initial_response(name, login, host=self.hostname, port=self.port)
        answers = iter([first])

        def respond(_challenge: bytes) -> bytes:
            # After the token, a challenge is the server's error report: acknowledge it, and it answers NO.
            return next(answers, b"\x01" if name == sasl.OAUTHBEARER else b"")

        try:
            box.client.authenticate(name, respond)
        except imaplib.IMAP4.error as exc:
            raise OAuthRefused(f"{name} sign-in refused for {login.user}: {exc}") from None
