"""Which article language a reader prefers: the one asked for, else their locale, else `Accept-Language`."""

from __future__ import annotations

from starlette.requests import Request

from nixflow.domain.kb_languages import preferred_language


def reader_language(request: Request, asked: str | None = None) -> str | None:
    """`asked` (a `language` query parameter) if given; else the request's locale (set by the i18n middleware,
    e.g. from the account's setting), else its `Accept-Language`, negotiated over the articles' languages."""
    if asked is not None:
        return asked
    locale = getattr(request.state, "locale", None)
    return preferred_language(str(locale) if locale else request.headers.get("accept-language"))
