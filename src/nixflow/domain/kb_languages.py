"""The languages an article may be written in, and which of them a reader prefers. Pure: no I/O."""

from __future__ import annotations

from typing import Literal, get_args

from babel.core import Locale, negotiate_locale

Language = Literal["en", "de", "fr", "es", "ar"]
LANGUAGES: tuple[str, ...] = get_args(Language)
SOURCE_LANGUAGE: Language = "en"  # what every article written before translations existed is in
MAX_RANGES = 20  # an Accept-Language header is the client's text: only its first ranges count


def _ranges(header: str) -> list[str]:
    """The language ranges of an Accept-Language header, most wanted first (q=0 means "not this")."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:MAX_RANGES]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, position, tag.replace("-", "_")))
    return [tag for _, _, tag in sorted(weighted)]


def preferred_language(accept_language: str | None) -> str | None:
    """The article language a reader's `Accept-Language` asks for first (Babel's negotiation), None if none."""
    if not accept_language:
        return None
    found = negotiate_locale(_ranges(accept_language), list(LANGUAGES))
    return None if found is None else found.lower()


def prefer_language(hits: list[dict[str, object]], language: str | None, limit: int) -> list[dict[str, object]]:
    """Search hits (best first, each with `group_id` and `language`) as one hit per article: the translation in
    the reader's `language` where it matched, else the best; those in `language` first, then the rest, by rank."""
    chosen: dict[object, dict[str, object]] = {}
    for hit in hits:
        best = chosen.get(hit["group_id"])
        if best is None or (hit["language"] == language and best["language"] != language):
            chosen[hit["group_id"]] = hit
    order = {id(hit): rank for rank, hit in enumerate(hits)}
    ranked = sorted(chosen.values(), key=lambda hit: (hit["language"] != language, order[id(hit)]))
    return ranked[:limit]


def language_names() -> dict[str, str]:
    """Each article language by its own name ("Deutsch", "العربية"), as a reader looks for their language."""
    names = {code: Locale.parse(code).get_display_name(code) or code for code in LANGUAGES}
    return {code: name[:1].upper() + name[1:] for code, name in names.items()}  # "Français" in a list of names


def directions() -> dict[str, str]:
    """Each article language's writing direction, `rtl` or `ltr` (Babel's character order), for `dir`."""
    return {code: "rtl" if Locale.parse(code).character_order == "right-to-left" else "ltr" for code in LANGUAGES}
