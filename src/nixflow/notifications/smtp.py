"""Sending mail over SMTP with aiosmtplib; failures sorted into an outage (retry, lose nothing) or a refusal.

A URL with a user and no password signs in with OAuth2 (OAUTHBEARER where offered, else XOAUTH2) as the OAuth2
mailbox connected for that user; while it is paused the mail stays queued, as in any outage.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from nixflow.domain.errors import ServiceUnavailable
from nixflow.mailwire import sasl
from nixflow.mailwire.sasl import OAuthLogin
from nixflow.services.mail_tokens import MailboxPaused, MailTokens


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to connect: `smtp://user:pass@host:port`, `smtps://` (implicit TLS), `?starttls=true`."""

    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool

    @classmethod
    def from_url(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        implicit = parts.scheme == "smtps"
        query = parse_qs(parts.query)
        start_tls = query.get("starttls", ["false"])[0].lower() in ("true", "1", "yes")
        return cls(
            hostname=parts.hostname or "localhost",
            port=parts.port or (465 if implicit else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=implicit,
            start_tls=start_tls and not implicit,
        )


class Outage(Exception):
    """The server could not be reached or talked to: try again later, counting nothing against the mail."""


class Refused(Exception):
    """The server refused this mail; `permanent` (5xx) ends it `failed` at once."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class Mailer:
    """One SMTP connection, opened on the first mail and reused for the rest of a run."""

    def __init__(self, target: SmtpTarget, *, timeout: float, tokens: MailTokens | None = None) -> None:
        self.target = target
        self.timeout = timeout
        self.tokens = tokens  # for a URL with a user and no password: the OAuth2 mailbox of that user
        self._client: aiosmtplib.SMTP | None = None

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is None or not self._client.is_connected:
            oauth = self.tokens is not None and self.target.username is not None and self.target.password is None
            client = aiosmtplib.SMTP(
                hostname=self.target.hostname,
                port=self.target.port,
                username=None if oauth else self.target.username,
                password=self.target.password,
                use_tls=self.target.use_tls,
                start_tls=self.target.start_tls,
                timeout=self.timeout,
            )
            await client.connect()
            self._client = client
            if oauth:
                await self._sign_in(client)
        return self._client

    async def _sign_in(self, client: aiosmtplib.SMTP) -> None:
        """Sign in with the mailbox's access token; a refused one is refreshed and tried once more."""
        tokens, user = self.tokens, self.target.username
        assert tokens is not None and user is not None
        login = await tokens.login_for(user)
        try:
            await self._authenticate(client, login)
        except aiosmtplib.SMTPAuthenticationError:
            tokens.forget(user)
            await self._authenticate(client, await tokens.login_for(user))

    async def _authenticate(self, client: aiosmtplib.SMTP, login: OAuthLogin) -> None:
        await client.ehlo()
        name = sasl.mechanism(client.server_auth_methods)
        if name is None:
            raise aiosmtplib.SMTPException("the server offers neither OAUTHBEARER nor XOAUTH2")
        if name == sasl.XOAUTH2:
            await client.auth_xoauth2(login.user, login.token)
            return
        first = sasl.initial_response(name, login, host=self.target.hostname, port=self.target.port)
        response = await client.execute_command(b"AUTH", name.encode(), base64.b64encode(first))
        if response.code == 334:  # the server's error report: acknowledge it (RFC 7628), it answers 535
            response = await client.execute_command(base64.b64encode(b"\x01"))
        if response.code != 235:
            raise aiosmtplib.SMTPAuthenticationError(response.code, response.message)

    async def send(self, message: EmailMessage, *, envelope_from: str | None = None) -> None:
        """Send one mail (from `envelope_from`, else its From); returns once the server accepted it. Raises Outage
        or Refused."""
        try:
            client = await self._connected()
            await client.send_message(message, sender=envelope_from)
        except aiosmtplib.SMTPAuthenticationError as exc:
            await self.close()
            raise Outage(f"authentication failed: {exc}") from exc  # a setting to fix: keep the mail
        except (MailboxPaused, ServiceUnavailable) as exc:  # the OAuth2 mailbox waits for an admin, or its provider
            await self.close()
            raise Outage(str(exc)) from exc
        except (
            aiosmtplib.SMTPConnectError,
            aiosmtplib.SMTPHeloError,
            aiosmtplib.SMTPServerDisconnected,
            aiosmtplib.SMTPTimeoutError,
        ) as exc:
            await self.close()
            raise Outage(f"{type(exc).__name__}: {exc}") from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            raise Refused(f"recipient refused: {exc}", permanent=all(c >= 500 for c in codes)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code in (421,):  # the server is closing the connection: an outage
                await self.close()
                raise Outage(f"{exc.code} {exc.message}") from exc
            raise Refused(f"{exc.code} {exc.message}", permanent=exc.code >= 500) from exc
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            await self.close()
            raise Outage(f"{type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (TimeoutError, aiosmtplib.SMTPException, OSError):
                client.close()
