"""The reader's language and zone, on every request before any page code runs: `request.state.locale` and
`request.state.timezone` (a signed-in person's own choice replaces them in `rendering.page_credential`)."""

from __future__ import annotations

from starlette.datastructures import State
from starlette.types import ASGIApp, Receive, Scope, Send

from nixflow import i18n
from nixflow.config import Settings


class ReaderLanguage:
    """ASGI middleware: the browser's best shipped language (Accept-Language), else the instance default; the
    instance's zone."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            settings: Settings = scope["app"].state.nixflow.settings
            header = next((v for k, v in scope["headers"] if k == b"accept-language"), b"")
            state = scope.setdefault("state", {})
            state["locale"] = i18n.negotiate(header.decode("latin-1")[:1000], None, settings.default_locale)
            state["timezone"] = settings.default_timezone
        await self.app(scope, receive, send)


def choose(state: State, *, locale: str | None, timezone: str | None) -> None:
    """A signed-in person's own choices over what the browser asked for."""
    if locale:
        state.locale = locale
    if timezone:
        state.timezone = timezone
