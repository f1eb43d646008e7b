"""The languages an article may be written in (the shipped ones, `i18n.LOCALES`), and search hits in the reader's
language first. Pure: no I/O."""

from __future__ import annotations

from typing import Literal, get_args

Language = Literal["en", "de", "fr", "es", "ar"]
LANGUAGES: tuple[str, ...] = get_args(Language)
SOURCE_LANGUAGE: Language = "en"  # what every article written before translations existed is in


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
