"""Knowledge-base rules without I/O: who reads what, what a query means, what rendering lets through."""

from __future__ import annotations

import pytest

from nixflow.domain.kb import ArticleStatus, Term, Visibility, parse_query, readable, suggestible
from nixflow.domain.values import Role
from nixflow.markup import render


def test_requesters_and_anonymous_readers_see_published_articles_of_their_visibility() -> None:
    assert readable(None).statuses == {ArticleStatus.PUBLISHED}
    assert readable(None).visibilities == {Visibility.PUBLIC}
    assert readable(Role.REQUESTER).visibilities == {Visibility.PUBLIC, Visibility.REQUESTERS}
    assert readable(Role.AGENT).statuses == set(ArticleStatus) and readable(Role.ADMIN).visibilities == set(Visibility)
    assert suggestible(Role.AGENT).statuses == {ArticleStatus.PUBLISHED}
    assert suggestible(Role.AGENT).visibilities == set(Visibility)


def test_a_query_is_words_phrases_and_prefixes() -> None:
    assert parse_query('VPN "Reset your password" print* vpn') == [
        Term(("vpn",)),
        Term(("reset", "your", "password")),
        Term(("print",), prefix=True),
    ]


@pytest.mark.parametrize(
    ("typed", "terms"),
    [
        ("AND OR NOT", []),  # operators are words, and these are too common to search by
        ('"', []),
        ("*", []),
        ("_", []),
        ("NEAR(a, b) title:x", [Term(("near",)), Term(("b",)), Term(("title",)), Term(("x",))]),
        ("'; DROP TABLE x; --", [Term(("drop",)), Term(("table",)), Term(("x",))]),
        ('"unclosed phrase', [Term(("unclosed", "phrase"))]),
        ("the*", [Term(("the",), prefix=True)]),
    ],
)
def test_any_text_is_a_safe_query(typed: str, terms: list[Term]) -> None:
    assert parse_query(typed) == terms


def test_a_query_has_at_most_sixteen_terms_of_bounded_length() -> None:
    terms = parse_query(" ".join(f"word{n}" for n in range(100)) + " " + "z" * 1000)
    assert len(terms) == 16 and all(len(w) <= 64 for t in terms for w in t.words)


def test_rendering_keeps_markdown_and_drops_what_could_run() -> None:
    html = render("# Title\n\n**bold** [site](https://example.com) `code`\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html and "<table>" in html
    assert '<a href="https://example.com" rel="noopener noreferrer nofollow">site</a>' in html
    hostile = render('<script>alert(1)</script><img src="x" onerror="alert(2)"><a href="javascript:alert(3)">a</a>')
    assert "script" not in hostile and "onerror" not in hostile and "javascript:" not in hostile
    assert '<img src="x">' in hostile
    assert "javascript:" not in render("[x](javascript:alert(1)) and JavaScript:void(0)")
