"""What the knowledge base's and the tickets' full-text searches share: a parsed term in FTS5 and PostgreSQL
syntax, highlight marks that survive HTML escaping, and FTS5's refusals turned into the caller's error."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from typing import TypeVar

from sqlalchemy.exc import OperationalError

from nixflow.domain.errors import ValidationFailed
from nixflow.domain.kb import Term

OPEN, CLOSE = "\ue000", "\ue001"  # highlight marks, from the private use area: turned into <mark> after escaping

T = TypeVar("T")


def fts5_term(term: Term) -> str:
    """`term` as an FTS5 string: words are \\w+ runs, so no quote can end it early; a phrase keeps its order."""
    return f'"{" ".join(term.words)}"' + ("*" if term.prefix else "")


def websearch_phrases(terms: Iterable[Term], joiner: str) -> str:
    """The non-prefix terms as quoted phrases for PostgreSQL's `websearch_to_tsquery`, joined by `joiner`."""
    return joiner.join(f'"{" ".join(t.words)}"' for t in terms if not t.prefix)


def tsquery_prefixes(terms: Iterable[Term], joiner: str) -> str:
    """The prefix terms as a `to_tsquery` text (`'word':*`), joined by `joiner` (` | ` or ` & `)."""
    return joiner.join(f"'{t.words[0]}':*" for t in terms if t.prefix)


def highlighted(snippet: str | None) -> str:
    """A snippet as safe HTML: its text escaped, the marked words in `<mark>`."""
    escaped = html.escape(snippet or "", quote=False)
    return escaped.replace(OPEN, "<mark>").replace(CLOSE, "</mark>")


def fts5_query(run: Callable[[], T]) -> T:
    """Run an FTS5 query; a query FTS5 refuses is the caller's fault (422), not an outage."""
    try:
        return run()
    except OperationalError as exc:
        if "fts5" not in str(exc).lower():
            raise
        raise ValidationFailed("the search query cannot be understood") from None
