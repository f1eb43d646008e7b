"""The catalogue a page hands its scripts: the `js.po` messages of a language and its plural categories."""

from __future__ import annotations

from typing import Any

from babel import Locale

from nixflow.i18n.catalogue import catalogue_files, read_catalogue, translator
from nixflow.i18n.locales import LOCALES, SOURCE_LOCALE, direction

BROWSER_AREA = "js"
_SAMPLES = (*range(0, 200), 1_000_000)  # a number of every CLDR category in every shipped language


def plural_map(locale: str) -> dict[str, int]:
    """CLDR plural category (what `Intl.PluralRules(lang).select(n)` returns) -> index of the gettext form."""
    rule = Locale.parse(locale).plural_form
    rules = translator(locale)
    found: dict[str, int] = {}
    for n in _SAMPLES:
        found.setdefault(rule(n), rules.form_index(n))
    return found


def browser_catalogue(locale: str, timezone: str) -> dict[str, Any]:
    """`{"lang", "dir", "timezone", "messages", "plurals"}` for `<script id="nixflow-i18n">` (web/static/i18n.js)."""
    messages: dict[str, str] = {}
    plurals: dict[str, dict[str, str]] = {}
    path = next((p for p in catalogue_files(locale) if p.stem == BROWSER_AREA), None)
    if locale != SOURCE_LOCALE and locale in LOCALES and path is not None:
        categories = plural_map(locale)
        for message in read_catalogue(path, locale):
            if not message.id or message.fuzzy:
                continue
            if isinstance(message.id, tuple) and isinstance(message.string, tuple) and all(message.string):
                forms = message.string
                plurals[message.id[0]] = {cat: forms[min(i, len(forms) - 1)] for cat, i in categories.items()}
            elif isinstance(message.id, str) and isinstance(message.string, str) and message.string:
                messages[message.id] = message.string
    return {"lang": locale, "dir": direction(locale), "timezone": timezone, "messages": messages, "plurals": plurals}
