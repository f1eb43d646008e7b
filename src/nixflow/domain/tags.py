"""Ticket tags: what a tag may be, and how a ticket's tags change. Pure, no I/O.

A tag is compared in lower case and stored as compared, so `VPN`, ` vpn ` and `vpn` are one tag. Tags are
internal routing: requesters never see them. ASCII only: a routing label should not have look-alikes (a Cyrillic
letter that looks like `a`), and a pattern in ASCII means the same to every regex engine, so the OpenAPI
schema states exactly what the server takes (`INPUT_PATTERN`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from nixflow.domain.errors import ValidationFailed

MAX_TAGS = 20
MAX_LENGTH = 40
# Letters and digits, then also `-`, `_`, `.`, `:` and `/` (no spaces: a tag is one word), starting and ending
# with a letter or digit; 1 to MAX_LENGTH characters.
_CORE = rf"[A-Za-z0-9](?:[A-Za-z0-9_.:/-]{{0,{MAX_LENGTH - 2}}}[A-Za-z0-9])?"
# As typed: spaces around it are trimmed. (A JSON Schema pattern is searched, and `$` lets a last newline by.)
INPUT_PATTERN = rf"^ *{_CORE} *$"
_INPUT = re.compile(INPUT_PATTERN)


def normalise(tag: str) -> str:
    """`tag` as stored and compared (trimmed, lower case); ValidationFailed naming it if it is not a tag."""
    if _INPUT.search(tag) is None:
        raise ValidationFailed(
            f"tag {tag!r} is not a tag: 1 to {MAX_LENGTH} ASCII letters, digits or -_.:/ starting and ending with "
            "a letter or digit",
            errors=[{"loc": ["body", "tags"], "msg": f"invalid tag {tag!r}"}],
        )
    return tag.strip(" \n").lower()


def parse(value: object) -> str:
    """`normalise` for a pydantic validator: a bad tag is a ValueError (a 422 naming the field)."""
    if not isinstance(value, str):
        raise ValueError("a tag must be a string")
    try:
        return normalise(value)
    except ValidationFailed as exc:
        raise ValueError(exc.detail) from None


def normalise_all(tags: Iterable[str]) -> list[str]:
    """Each tag normalised, in order, each once."""
    return list(dict.fromkeys(normalise(t) for t in tags))


def added(current: Sequence[str], tags: Iterable[str]) -> tuple[str, ...]:
    """The tags of `tags` that `current` does not have yet (normalised already), in order."""
    return tuple(t for t in dict.fromkeys(tags) if t not in current)


def check_count(tags: Sequence[str]) -> None:
    """ValidationFailed when a ticket would have more than MAX_TAGS tags."""
    if len(tags) > MAX_TAGS:
        raise ValidationFailed(
            f"a ticket has at most {MAX_TAGS} tags ({len(tags)} asked)",
            errors=[{"loc": ["body", "tags"], "msg": f"at most {MAX_TAGS} tags"}],
        )


def check_allowed(tags: Iterable[str], allow_list: frozenset[str] | None) -> None:
    """ValidationFailed naming the tags an admin's allow list (None: no list, any tag) does not have."""
    if allow_list is None:
        return
    unknown = [t for t in tags if t not in allow_list]
    if unknown:
        raise ValidationFailed(
            f"tags not on the allow list: {', '.join(unknown)}",
            errors=[{"loc": ["body", "tags"], "msg": f"not allowed: {t}"} for t in unknown],
        )
