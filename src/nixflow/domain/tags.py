"""Ticket tags: what a tag may be, and how a ticket's tags change. Pure, no I/O.

A tag is compared case-folded and stored as compared, so `VPN`, ` vpn ` and `vpn` are one tag. Tags are internal
routing: requesters never see them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from nixflow.domain.errors import ValidationFailed

MAX_TAGS = 20
MAX_LENGTH = 40
# Letters and digits of any script, then also `-`, `_`, `.`, `:` and `/` (no spaces: a tag is one word).
TAG_PATTERN = re.compile(r"[^\W_](?:[\w.:/-]*[^\W_])?")


def normalise(tag: str) -> str:
    """`tag` as stored and compared (trimmed, case-folded); ValidationFailed naming it if it is not a tag."""
    folded = tag.strip().casefold()
    if not 1 <= len(folded) <= MAX_LENGTH or TAG_PATTERN.fullmatch(folded) is None:
        raise ValidationFailed(
            f"tag {tag!r} is not a tag: 1 to {MAX_LENGTH} letters, digits or -_.:/ starting and ending with a "
            "letter or digit",
            errors=[{"loc": ["body", "tags"], "msg": f"invalid tag {tag!r}"}],
        )
    return folded


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
