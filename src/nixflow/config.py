"""Settings, read from the environment (and `.env`) by a function, never at import."""

from __future__ import annotations

from email.utils import parseaddr
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from nixflow import i18n

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./nixflow.db"


class ConfigError(Exception):
    """A bad setting; its message is the one line shown to the operator."""


def _server_url(value: str | None, schemes: tuple[str, ...], usage: str, *, needs_user: bool) -> str | None:
    """A mail server's URL, checked: its scheme, host, port (and user); None when unset."""
    if value in (None, ""):
        return None
    parsed = urlsplit(value)
    if parsed.scheme not in schemes or not parsed.hostname or (needs_user and not parsed.username):
        raise ValueError(usage)
    try:
        parsed.port  # noqa: B018 - a bad port raises here
    except ValueError:
        raise ValueError("has a bad port") from None
    return value


def networks(spec: str) -> list[IPv4Network | IPv6Network]:
    """The networks of a comma-separated CIDR list (ValueError on a bad one)."""
    return [ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip()]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NIXFLOW_", env_file=".env", extra="ignore", env_ignore_empty=True)

    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    # Redis Sentinel: `host:port,host:port` of the sentinels and the name of the primary they watch; the URL
    # then gives only the database, user and password (store/redis_client.py).
    redis_sentinels: str | None = None
    redis_sentinel_service: str = Field(default="nixflow", min_length=1, max_length=200)
    dedup_ttl_seconds: float = Field(default=5.0, ge=0)
    secret_key: str | None = None
    # Earlier secret keys, separated by spaces: what they protected is still accepted (see SECURITY.md).
    secret_key_previous: str | None = None
    env: Literal["development", "production", "test"] = "development"
    # Delivery: attempts before an event is `failed`, and the first backoff step.
    max_attempts: int = Field(default=5, ge=1, le=50)
    retry_base_seconds: float = Field(default=1.0, gt=0)
    # An event left `pending` (or `processing`) this long is re-sent by the sweeper.
    sweep_after_seconds: float = Field(default=5.0, gt=0)
    tick_seconds: float = Field(default=1.0, gt=0)
    # Scale-out: Redis key prefix (one Redis can serve several NixFlows), how long a message may sit
    # unacknowledged with a dead consumer before another takes it over, and how often the log is tailed
    # for live updates from other processes.
    redis_prefix: str = Field(default="nixflow", pattern=r"^[A-Za-z0-9:_.-]{1,64}$")
    claim_idle_seconds: float = Field(default=30.0, gt=0)
    tail_seconds: float = Field(default=0.1, gt=0)
    # Presence on ticket pages: an entry ends this long after its process last refreshed it (a closed socket
    # ends it at once), and each process reads the others' entries this often for its clients.
    presence_ttl_seconds: float = Field(default=30.0, ge=1, le=300)
    presence_poll_seconds: float = Field(default=1.0, gt=0, le=2)
    max_body_bytes: int = Field(default=1_000_000, gt=0)
    session_hours: int = Field(default=24 * 7, gt=0)
    automation_max_depth: int = Field(default=5, ge=1)
    # Login throttling: failed (or in-flight) attempts allowed per window, per email and per client address.
    login_max_failures_per_email: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_window_seconds: int = Field(default=15 * 60, ge=1)
    # Password reset: how long a mailed link works, and the requests allowed per window (the sign-in window
    # above), per email and per client address.
    password_reset_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    password_reset_max_per_email: int = Field(default=3, ge=1)
    password_reset_max_per_address: int = Field(default=20, ge=1)
    # Finished events older than this many days are deleted by the hourly housekeeping; unset keeps them all.
    event_retention_days: int | None = Field(default=None, ge=1)
    # Behind a reverse proxy you trust: take the client address and scheme from X-Forwarded-For/-Proto.
    trust_proxy_headers: bool = False
    # Notifications: mail goes out only when an SMTP server is configured; links in mail point at `base_url`;
    # a notification is held this long so several changes to a ticket become one mail.
    smtp_url: str | None = None
    mail_from: str = Field(default="NixFlow <nixflow@localhost>", max_length=254)
    base_url: str = Field(default="http://127.0.0.1:8000", max_length=500)
    notify_delay_seconds: float = Field(default=30.0, ge=0, le=86_400)
    # Email in: the mailbox the worker polls (unset: only `nixflow mail receive`), the domains an unknown
    # sender may come from (unset: any), how many mails one sender may send an hour, and the largest file kept.
    imap_url: str | None = None
    imap_poll_seconds: float = Field(default=60.0, gt=0, le=1740)
    mail_allow_domains: str | None = Field(default=None, max_length=5000)
    mail_max_per_hour: int = Field(default=30, ge=1)
    # Watchers: at most this many on one ticket; a requester may add this many by email an hour (a CC'd address
    # without an account becomes one, so the bound keeps NixFlow from mailing the world for them).
    watchers_max_per_ticket: int = Field(default=50, ge=1, le=10_000)
    watchers_cc_per_hour: int = Field(default=20, ge=1)
    # The authserv-id of the receiving mail server whose Authentication-Results NixFlow believes (unset: none).
    mail_trusted_authserv_id: str | None = Field(default=None, max_length=254)
    max_attachment_bytes: int = Field(default=25 * 1024 * 1024, gt=0, le=1_000_000_000)
    # Webhooks: targets on loopback, private or link-local addresses are refused unless this is set (tests,
    # on-premise installs); every retry delay (and the 24 h before a failing subscription is disabled) is
    # multiplied by the scale.
    webhook_allow_private: bool = False
    webhook_retry_scale: float = Field(default=1.0, gt=0, le=1000)
    # Knowledge base: `public` articles are readable without signing in only when this is true.
    kb_public: bool = False
    # Operations: log lines as text or one JSON object each; GET /metrics answers only clients in these
    # networks (comma-separated CIDRs, e.g. 127.0.0.1/32,10.0.0.0/8); unset, it is 404 for everyone.
    log_format: Literal["text", "json"] = "text"
    metrics_allow: str | None = Field(default=None, max_length=2000)
    # OpenTelemetry traces to this OTLP/HTTP receiver (e.g. http://127.0.0.1:4318; the `otel` extra); unset, off.
    otel_endpoint: str | None = Field(default=None, max_length=500)
    otel_sample_rate: float = Field(default=1.0, ge=0, le=1)  # the share of traces kept, decided per correlation
    # Passkeys (WebAuthn): the origin pages are served from and the relying party id (a domain: that origin's host
    # or a suffix of it). Unset, both come from `base_url`; a browser refuses an IP address as the RP id.
    passkey_origin: str | None = Field(default=None, max_length=500)
    passkey_rp_id: str | None = Field(default=None, max_length=253)
    passkey_timeout_seconds: int = Field(default=300, ge=30, le=3600)
    # Languages: what a reader who chose none and whose browser asks for no shipped language gets, and the zone
    # dates are shown in until they choose one (docs/architecture.md, "Languages").
    default_locale: str = "en"
    default_timezone: str = "UTC"

    @field_validator("default_locale")
    @classmethod
    def _shipped_locale(cls, value: str) -> str:
        if not i18n.is_locale(value):
            raise ValueError(f"must be one of the shipped languages: {', '.join(i18n.LOCALES)}")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if not i18n.is_timezone(value):
            raise ValueError("must be an IANA time zone such as UTC or Europe/Berlin")
        return value

    @field_validator("otel_endpoint")
    @classmethod
    def _known_otel(cls, value: str | None) -> str | None:
        return _server_url(value, ("http", "https"), "must be http://host:port or https://host:port", needs_user=False)

    @field_validator("metrics_allow")
    @classmethod
    def _known_networks(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        try:
            networks(value)
        except ValueError as exc:
            raise ValueError(f"must be comma-separated networks like 127.0.0.1/32: {exc}") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not (value.startswith("sqlite") or value.startswith("postgresql")):
            raise ValueError("must start with sqlite or postgresql (e.g. sqlite+aiosqlite:///./nixflow.db)")
        return value

    @field_validator("redis_url")
    @classmethod
    def _known_redis(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis:// URL")
        return value

    @field_validator("redis_sentinels")
    @classmethod
    def _sentinel_list(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        for part in value.split(","):
            host, sep, port = part.strip().rpartition(":")
            if part.strip() and (not sep or not host or not port.isdigit()):
                raise ValueError("must be host:port[,host:port...]")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _known_smtp(cls, value: str | None) -> str | None:
        usage = "must be smtp://[user:pass@]host[:port][?starttls=true] or smtps://..."
        return _server_url(value, ("smtp", "smtps"), usage, needs_user=False)

    @field_validator("imap_url")
    @classmethod
    def _known_imap(cls, value: str | None) -> str | None:
        usage = "must be imaps://user:pass@host[:port]/MAILBOX or imap://...[?starttls=true]"
        return _server_url(value, ("imap", "imaps"), usage, needs_user=True)

    @field_validator("mail_allow_domains")
    @classmethod
    def _domains(cls, value: str | None) -> str | None:
        if value is None or not value.replace(",", " ").split():
            return None
        return value

    @property
    def allowed_mail_domains(self) -> frozenset[str] | None:
        """The domains unknown senders may write from (None: any)."""
        if self.mail_allow_domains is None:
            return None
        return frozenset(d.strip().lower().lstrip("@") for d in self.mail_allow_domains.replace(",", " ").split())

    @field_validator("mail_from")
    @classmethod
    def _mail_address(cls, value: str) -> str:
        _name, address = parseaddr(value)
        if "@" not in address or any(c in value for c in "\r\n"):
            raise ValueError("must be an email address, optionally with a name: NixFlow <helpdesk@example.com>")
        return value

    @field_validator("base_url")
    @classmethod
    def _web_url(cls, value: str) -> str:
        parsed = urlsplit(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("must be an http:// or https:// URL (e.g. https://help.example.com)")
        return value.rstrip("/")

    @field_validator("passkey_origin")
    @classmethod
    def _origin(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        parsed = urlsplit(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.path not in ("", "/"):
            raise ValueError("must be an origin: scheme, host and port only (e.g. https://help.example.com)")
        return value.rstrip("/")

    @property
    def webauthn_origin(self) -> str:
        """The origin passkey ceremonies must come from: `passkey_origin`, else `base_url`'s."""
        parsed = urlsplit(self.passkey_origin or self.base_url)
        return f"{parsed.scheme}://{parsed.netloc}"

    @property
    def webauthn_rp_id(self) -> str:
        """The relying party id passkeys are bound to: `passkey_rp_id`, else the origin's host."""
        return self.passkey_rp_id or urlsplit(self.webauthn_origin).hostname or ""

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment; a bad value raises ConfigError naming the variable."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        raise ConfigError(f"NIXFLOW_{field.upper()}: {first['msg']}") from None
    host = urlsplit(settings.webauthn_origin).hostname or ""
    if host != settings.webauthn_rp_id and not host.endswith("." + settings.webauthn_rp_id):
        raise ConfigError(f"NIXFLOW_PASSKEY_RP_ID: must be the passkey origin's host {host} or a domain it is under")
    if settings.env == "production" and not (settings.secret_key or "").strip():
        raise ConfigError("NIXFLOW_SECRET_KEY: required when NIXFLOW_ENV=production (set it to a long random string)")
    return settings
