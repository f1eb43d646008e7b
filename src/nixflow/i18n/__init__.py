"""Languages: the shipped locales, the catalogues read from `nixflow/locale`, negotiation and formatting.

The English text is the message id, so English needs no catalogue; every other language merges the `*.po` files of
its `LC_MESSAGES` folder into one set of translations (docs/architecture.md, "Languages").
"""

from __future__ import annotations

from nixflow.i18n.catalogue import Translator, translator
from nixflow.i18n.locales import LOCALES, RTL, direction, is_locale, is_timezone, language_names, negotiate, timezones

__all__ = [
    "LOCALES",
    "N_",
    "RTL",
    "Translator",
    "direction",
    "is_locale",
    "is_timezone",
    "language_names",
    "negotiate",
    "timezones",
    "translator",
]


def N_(message: str) -> str:
    """Mark a module-level label for extraction; it is translated where it is shown."""
    return message
