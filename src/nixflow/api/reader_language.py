"""Which article language a reader prefers: the one asked for, else their locale, else `Accept-Language`, else
the source language."""

from __future__ import annotations

from starlette.requests import Request

from nixflow import i18n
from nixflow.domain.kb_languages import SOURCE_LANGUAGE


def reader_language(request: Request, asked: str | None = None) -> str:
    """`asked` (a `language` query parameter) if given; else the request's locale (set by the i18n middleware,
    e.g. from the account's setting), else its `Accept-Language`, negotiated over the articles' languages; else
    the source language (English, the instance default)."""
    if asked is not None:
        return asked
    locale = getattr(request.state, "locale", None)
    return i18n.negotiate(request.headers.get("accept-language"), locale, SOURCE_LANGUAGE)
