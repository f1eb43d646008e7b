"""Markdown to HTML that can be shown as it is: rendered by markdown-it, then sanitised by nh3. Articles and
ticket replies (comments, their preview, the HTML part of their notification mail) use the same renderer."""

from __future__ import annotations

import re
from functools import cache

import nh3
from markdown_it import MarkdownIt

# What an article may contain once rendered; anything else (scripts, handlers, styles, frames) is dropped.
TAGS = frozenset(
    [
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "code",
        "del",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "kbd",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})


_SCHEME = re.compile(r"javascript:", re.IGNORECASE)


@cache
def _markdown(breaks: bool) -> MarkdownIt:
    # Raw HTML in the source is passed on to nh3, which keeps the harmless part of it (a <kbd>, an <img> without
    # its handlers) and drops the rest (scripts with their content, event handlers, unsafe URLs).
    options = {"html": True, "linkify": False, "breaks": breaks}
    return MarkdownIt("commonmark", options).enable(["table", "strikethrough"])


def render(body: str, *, breaks: bool = False) -> str:
    """The article's Markdown `body` as safe HTML: no scripts, event handlers or `javascript:` URLs. `breaks`: a
    single newline is a line break (a reply, often plain text typed or mailed line by line, keeps its lines)."""
    html = _markdown(breaks).render(body)
    cleaned = nh3.clean(
        html,
        tags=set(TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
    )
    # No attribute can hold the scheme any more; in text (a link markdown-it refused) it is written with an
    # entity, so no later linkifier (a mail client, a chat preview) can turn it back into a link.
    return _SCHEME.sub("javascript&#58;", cleaned)


def render_reply(body: str) -> str:
    """A comment's Markdown as safe HTML, its single newlines kept as line breaks."""
    return render(body, breaks=True)
