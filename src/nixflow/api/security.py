"""Defences against hostile clients: CSRF for cookie sessions, JSON-only login, client identity, security headers."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from fastapi import FastAPI, Request
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nixflow.api.openapi_problems import document_problems
from nixflow.config import Settings
from nixflow.crypto import Keyring
from nixflow.domain import user_agents
from nixflow.domain.errors import DomainError, Forbidden
from nixflow.services import auth
from nixflow.services.sessions import Origin

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "x-csrf-token"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# The interactive API docs load Swagger UI from its CDN and start it with one inline script, allowed by its hash.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' https://cdn.jsdelivr.net {hashes}; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


class UnsupportedMediaType(DomainError):
    status = 415
    title = "Unsupported media type"


def check_csrf(request: Request, credential: auth.Authenticated, *, keys: Keyring, via_cookie: bool) -> None:
    """A state-changing request signed in by cookie must echo the session's CSRF token in `X-CSRF-Token`."""
    if not via_cookie or request.method not in STATE_CHANGING:
        return
    supplied = request.headers.get(CSRF_HEADER, "")
    expected = credential.csrf_hash
    if not supplied or len(supplied) > 256 or expected is None:
        raise Forbidden("this request needs the X-CSRF-Token header (the value of the nixflow_csrf cookie)")
    if not keys.matches(supplied, expected):
        raise Forbidden("the X-CSRF-Token header does not match this session")


def require_json(request: Request) -> None:
    """Refuse anything but a JSON body, so a cross-site HTML form cannot post here."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType("send the body as JSON (Content-Type: application/json)")


def client_address(request: Request, settings: Settings) -> str:
    """The client's address: the proxy's last X-Forwarded-For hop if proxies are trusted, else the peer."""
    if settings.trust_proxy_headers:
        forwarded = request.headers.get("x-forwarded-for", "").split(",")[-1].strip()
        if forwarded:
            return forwarded[:64]
    return (request.client.host if request.client else "unknown")[:64]


def origin_of(request: Request, settings: Settings) -> Origin:
    """Where a request comes from, as "Your sessions" shows it: the client's address, its browser and system."""
    return Origin(client_address(request, settings), user_agents.describe(request.headers.get("user-agent")))


def is_https(scope: Scope, settings: Settings) -> bool:
    """Whether the client reached us over HTTPS: the one test for `Secure` cookies and for HSTS.

    Behind a proxy we trust (`NIXFLOW_TRUST_PROXY_HEADERS`), its `X-Forwarded-Proto` says; otherwise the
    connection's own scheme.
    """
    if settings.trust_proxy_headers:
        proto = Headers(scope=scope).get("x-forwarded-proto", "").split(",")[0].strip().lower()
        if proto:
            return proto == "https"
    return scope.get("scheme") in ("https", "wss")


class SecurityHeaders:
    """Add CSP, nosniff, Referrer-Policy, frame denial (and HSTS over HTTPS) to every HTTP response."""

    def __init__(self, app: ASGIApp, settings: Settings, docs_path: str | None = None) -> None:
        self.app = app
        self.settings = settings
        self.docs_path = docs_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = dict(HEADERS)
        if is_https(scope, self.settings):
            extra["strict-transport-security"] = "max-age=31536000"
        if str(scope.get("path", "")).startswith("/api/"):
            extra["cache-control"] = "no-store"
        if scope.get("path") == self.docs_path:
            await self._docs(scope, receive, send, extra)
            return
        extra["content-security-policy"] = CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _merge(message.get("headers", []), extra)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send, extra: dict[str, str]) -> None:
        # The docs page is small: hold it, hash its inline scripts, and allow exactly those.
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        body = b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body")
        hashes = " ".join(
            f"'sha256-{base64.b64encode(hashlib.sha256(s).digest()).decode()}'" for s in _INLINE_SCRIPT.findall(body)
        )
        extra["content-security-policy"] = DOCS_CSP.format(hashes=hashes)
        for message in held:
            if message["type"] == "http.response.start":
                message["headers"] = _merge(message.get("headers", []), extra)
            await send(message)


def _merge(headers: Any, extra: dict[str, str]) -> list[tuple[bytes, bytes]]:
    present = {bytes(k).lower() for k, _ in headers}
    merged = [(bytes(k), bytes(v)) for k, v in headers]
    merged += [(k.encode(), v.encode()) for k, v in extra.items() if k.encode() not in present]
    return merged


def install(app: FastAPI, settings: Settings) -> None:
    """Security headers on every response, and problem+json errors documented in the OpenAPI schema."""
    app.add_middleware(SecurityHeaders, settings=settings, docs_path=app.docs_url)
    document_problems(app)
