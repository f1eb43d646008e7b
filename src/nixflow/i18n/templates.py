"""Jinja2 in the reader's language: the i18n extension's callables for one render, the `|when` and `|number`
filters.
Pages (web/rendering.py) and mail (notifications/mail.py) both render through these."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, pass_context
from jinja2.ext import _make_new_gettext, _make_new_ngettext, _make_new_pgettext
from jinja2.runtime import Context

from nixflow.i18n.catalogue import translator
from nixflow.i18n.formatting import format_datetime, format_number
from nixflow.i18n.locales import SOURCE_LOCALE, direction

EXTENSIONS = ["jinja2.ext.i18n"]


def prepare(env: Environment) -> Environment:
    """English until a render says otherwise (newstyle gettext: it fills in `%(name)s` and escapes), `|when` and
    `|number`."""
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]  # added by the i18n extension
    env.filters["when"] = when
    env.filters["number"] = number
    return env


def reader_context(locale: str, timezone: str) -> dict[str, Any]:
    """What one render needs for its reader: gettext, ngettext, pgettext, `locale`, `timezone` and `dir`."""
    tr = translator(locale)
    return {
        "gettext": _make_new_gettext(tr.gettext),
        "ngettext": _make_new_ngettext(tr.ngettext),
        "pgettext": _make_new_pgettext(tr.pgettext),
        "locale": locale,
        "timezone": timezone,
        "dir": direction(locale),
    }


@pass_context
def when(context: Context, value: Any) -> str:
    """`|when`: a moment in the reader's language and zone ("—" for none)."""
    if value is None:
        return "—"
    if not isinstance(value, datetime):
        return str(value)
    return format_datetime(value, locale=context.get("locale", SOURCE_LOCALE), timezone=context.get("timezone", "UTC"))


@pass_context
def number(context: Context, value: Any) -> str:
    """`|number`: a count or figure with the reader's digit grouping and decimal sign ("—" for none)."""
    if value is None:
        return "—"
    return format_number(value, locale=context.get("locale", SOURCE_LOCALE))
