"""The shipped languages, their writing direction, and choosing one for a reader."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from babel import Locale, UnknownLocaleError, negotiate_locale, parse_locale

LOCALES: tuple[str, ...] = ("en", "de", "fr", "es", "ar")
RTL: frozenset[str] = frozenset({"ar"})
SOURCE_LOCALE = "en"  # the message ids are its text


def is_locale(value: str) -> bool:
    """Whether `value` is one of the shipped languages."""
    return value in LOCALES


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_timezone(value: str) -> bool:
    """Whether `value` is an IANA time zone this machine knows (zoneinfo)."""
    return value in _zones()


def timezones() -> list[str]:
    """Every known IANA time zone, sorted."""
    return sorted(_zones())


def direction(locale: str) -> str:
    """`rtl` for a right-to-left language, else `ltr`."""
    return "rtl" if locale in RTL else "ltr"


def language_names() -> list[tuple[str, str]]:
    """(code, the language's name in itself) for each shipped language: a reader finds their own."""
    names = [(code, Locale.parse(code).get_display_name(code) or code) for code in LOCALES]
    return [(code, name[:1].upper() + name[1:]) for code, name in names]  # "Français" in a list of names


def _accepted(accept_language: str) -> list[str]:
    """The languages of an Accept-Language header, best first (q=0 dropped, malformed parts skipped)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if not tag or tag == "*" or quality <= 0:
            continue
        try:
            language = parse_locale(tag.strip(), sep="-")[0]
        except (ValueError, UnknownLocaleError):
            continue
        ranked.append((-quality, position, language.lower()))
    return [language for _, _, language in sorted(ranked)]


def negotiate(accept_language: str | None, chosen: str | None, default: str) -> str:
    """The reader's language: their own choice, else the best shipped one their browser asks for, else `default`."""
    if chosen and is_locale(chosen):
        return chosen
    if accept_language:
        found = negotiate_locale(_accepted(accept_language), list(LOCALES))
        if found:
            return found
    return default
