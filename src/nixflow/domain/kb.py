"""Knowledge-base rules: article states, who reads what, and what a search query means. Pure: no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from nixflow.domain.values import Role
from nixflow.domain.visibility import STAFF


class ArticleStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Visibility(StrEnum):
    PUBLIC = "public"  # anyone; without signing in only when NIXFLOW_KB_PUBLIC=true
    REQUESTERS = "requesters"  # anyone signed in
    INTERNAL = "internal"  # agents and admins


@dataclass(frozen=True)
class Readable:
    """What a reader may see: which statuses and which visibilities."""

    statuses: frozenset[ArticleStatus]
    visibilities: frozenset[Visibility]


def readable(role: Role | None) -> Readable:
    """What a reader of `role` may see (None: anonymous); staff see every article, others published ones."""
    if role in STAFF:
        return Readable(frozenset(ArticleStatus), frozenset(Visibility))
    published = frozenset({ArticleStatus.PUBLISHED})
    if role is None:
        return Readable(published, frozenset({Visibility.PUBLIC}))
    return Readable(published, frozenset({Visibility.PUBLIC, Visibility.REQUESTERS}))


# Suggestions are published articles only, whoever asks: an agent links a reply to what requesters can read.
def suggestible(role: Role | None) -> Readable:
    """What may be suggested to a reader of `role`: published articles they may read."""
    may = readable(role)
    return Readable(frozenset({ArticleStatus.PUBLISHED}), may.visibilities)


@dataclass(frozen=True)
class Term:
    """One term of a search: a word (a prefix when `prefix`), or a phrase of several words in order."""

    words: tuple[str, ...]
    prefix: bool = False


MAX_TERMS = 16
MAX_WORD = 64
# A word is a run of letters and digits (an underscore separates, as in both databases' parsers).
_TOKEN = re.compile(r'"([^"]*)"?|([^\W_]+)(\*?)', re.UNICODE)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Words too common to search by, as PostgreSQL's `english` configuration drops them: SQLite's index keeps every
# word, so leaving these out of a query makes both databases find the same articles.
STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
    ]
)


def parse_query(text: str) -> list[Term]:
    """The terms of a search as typed: "quoted phrases", words, and `word*` prefixes.

    Everything else (operators, brackets, stray quotes, `*` alone) is a separator, so any text is a valid
    query; the databases' own query syntaxes never see the caller's text.
    """
    terms: list[Term] = []
    seen: set[Term] = set()
    for match in _TOKEN.finditer(text):
        phrase, word, star = match.groups()
        if phrase is not None:
            words = tuple(w.lower()[:MAX_WORD] for w in _WORD.findall(phrase))
            term = Term(words) if words else None
        else:
            lowered = word.lower()[:MAX_WORD]
            term = None if lowered in STOP_WORDS and not star else Term((lowered,), prefix=bool(star))
        if term is not None and term not in seen:
            seen.add(term)
            terms.append(term)
        if len(terms) == MAX_TERMS:
            break
    return terms
