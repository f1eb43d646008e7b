"""Which article language a reader prefers, and search hits collapsed to one per article in that language."""

from __future__ import annotations

from nixflow import i18n
from nixflow.domain.catalogue import validate_data
from nixflow.domain.kb_languages import LANGUAGES, prefer_language


def _hit(article_id: int, group_id: int, language: str) -> dict[str, object]:
    return {"id": article_id, "group_id": group_id, "language": language}


def test_one_hit_per_article_in_the_readers_language_first() -> None:
    hits = [_hit(1, 1, "en"), _hit(5, 5, "en"), _hit(2, 1, "de"), _hit(7, 6, "de"), _hit(6, 6, "en")]
    german = prefer_language(hits, "de", 10)
    assert [h["id"] for h in german] == [2, 7, 5]  # German ones by rank, then the one with no German match
    assert [h["id"] for h in prefer_language(hits, "en", 10)] == [1, 5, 6]
    assert [h["id"] for h in prefer_language(hits, "fr", 10)] == [1, 5, 7]  # no French: the best of each group
    assert [h["id"] for h in prefer_language(hits, "de", 2)] == [2, 7]


def test_articles_are_written_in_the_shipped_languages_named_in_themselves() -> None:
    assert LANGUAGES == i18n.LOCALES
    names = dict(i18n.language_names())
    assert names == {"en": "English", "de": "Deutsch", "fr": "Français", "es": "Español", "ar": "العربية"}
    assert {code: i18n.direction(code) for code in LANGUAGES} == {
        "en": "ltr",
        "de": "ltr",
        "fr": "ltr",
        "es": "ltr",
        "ar": "rtl",
    }


def test_an_article_created_before_translations_reads_as_an_english_original() -> None:
    old = {"article_id": 3, "title": "T", "status": "draft", "visibility": "public", "author_id": 1}
    data = validate_data("kb.article_created", old)
    assert data["language"] == "en" and data["translation_of"] is None
