"""Sending mail over SMTP with aiosmtplib; failures sorted into an outage (retry, lose nothing) or a refusal."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib


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

    def __init__(self, target: SmtpTarget, *, timeout: float) -> None:
        self.target = target
        self.timeout = timeout
        self._client: aiosmtplib.SMTP | None = None

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is None or not self._client.is_connected:
            client = aiosmtplib.SMTP(
                hostname=self.target.hostname,
                port=self.target.port,
                username=self.target.username,
                password=self.target.password,
                use_tls=self.target.use_tls,
                start_tls=self.target.start_tls,
                timeout=self.timeout,
            )
            await client.connect()
            self._client = client
        return self._client

    async def send(self, message: EmailMessage, *, envelope_from: str | None = None) -> None:
        """Send one mail (from `envelope_from`, else its From); returns once the server accepted it. Raises Outage
        or Refused."""
        try:
            client = await self._connected()
            await client.send_message(message, sender=envelope_from)
        except aiosmtplib.SMTPAuthenticationError as exc:
            await self.close()
            raise Outage(f"authentication failed: {exc}") from exc  # a setting to fix: keep the mail
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
