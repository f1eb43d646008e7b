"""The translations of a language: every `*.po` of `nixflow/locale/<lang>/LC_MESSAGES` merged, read once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from gettext import c2py
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from nixflow.i18n.locales import LOCALES, SOURCE_LOCALE

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def catalogue_files(locale: str) -> list[Path]:
    """The `*.po` files of a language, in name order."""
    return sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po"))


def read_catalogue(path: Path, locale: str) -> Catalog:
    """One `.po` file, parsed by Babel."""
    with path.open("rb") as stream:
        return read_po(stream, locale=locale)


@dataclass(frozen=True)
class Translator:
    """gettext for one language; a message without a (non-fuzzy) translation is its English id."""

    locale: str
    singular: dict[tuple[str, str | None], str] = field(default_factory=dict)
    plural: dict[tuple[str, str | None], tuple[str, ...]] = field(default_factory=dict)
    plural_forms: str = "nplurals=2; plural=(n != 1);"

    def gettext(self, message: str) -> str:
        """The translation of `message`."""
        return self.singular.get((message, None)) or message

    def pgettext(self, context: str, message: str) -> str:
        """The translation of `message` in `context`."""
        return self.singular.get((message, context)) or message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The form of `singular`/`plural` for the number `n` (the language's plural rule)."""
        forms = self.plural.get((singular, None))
        if forms:
            chosen = forms[min(self.form_index(n), len(forms) - 1)]
            if chosen:
                return chosen
        return singular if n == 1 else plural

    def form_index(self, n: int) -> int:
        """Which of the catalogue's plural forms the number `n` takes (its `Plural-Forms` expression)."""
        return int(_plural_rule(self.plural_forms)(n))


@cache
def _plural_rule(plural_forms: str) -> Callable[[int], int]:
    """The `plural=` expression of a `Plural-Forms` header, compiled once."""
    return c2py(plural_forms.split("plural=", 1)[1].rstrip("; "))


@cache
def translator(locale: str) -> Translator:
    """The (cached) translator of a shipped language; English and unknown languages get the message ids."""
    if locale == SOURCE_LOCALE or locale not in LOCALES:
        return Translator(locale=SOURCE_LOCALE)
    singular: dict[tuple[str, str | None], str] = {}
    plural: dict[tuple[str, str | None], tuple[str, ...]] = {}
    plural_forms = Catalog(locale=locale).plural_forms
    for path in catalogue_files(locale):
        catalogue = read_catalogue(path, locale)
        plural_forms = catalogue.plural_forms
        for message in catalogue:
            if not message.id or message.fuzzy or not message.string:
                continue
            if isinstance(message.id, str) and isinstance(message.string, str):
                singular[(message.id, message.context)] = message.string
            elif not isinstance(message.id, str) and not isinstance(message.string, str):
                plural[(message.id[0], message.context)] = tuple(message.string)
    return Translator(locale=locale, singular=singular, plural=plural, plural_forms=plural_forms)
