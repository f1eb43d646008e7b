"""Walking a message's MIME parts within bounds, without recursion. Pure: no database, no network.

The email package's parser recurses once per nesting level (a 100 KB message nested 3,000 levels deep is a
RecursionError), so each entity is parsed for its headers only and multipart bodies are split at their boundary
lines here, on an explicit stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser, Parser
from email.policy import Compat32

# Bounds on what one message may cost to read: a part nested deeper, a part past the count, a file past the count
# is left out, and the ticket says so (`ParsedMail.left_out`).
MAX_DEPTH, MAX_PARTS, MAX_FILES = 20, 200, 50
_ENCAPSULATING = ("message/rfc822", "message/global")
REPORT_PARTS = ("message/delivery-status", "message/rfc822", "text/rfc822-headers")


def unescaped(value: str) -> str:
    """Text any database stores: raw 8-bit header bytes (kept by the email package as lone surrogates) read as
    UTF-8 where they are, U+FFFD where they are not."""
    if value.isascii():
        return value
    try:
        data = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that no byte made
        data = value.encode("utf-8", "surrogatepass")
    return data.decode("utf-8", "replace")


class _Policy(Compat32):
    """compat32, but a header read through the message (a file's name, a charset) is text with its 8-bit bytes
    read as UTF-8, never a `Header` of unknown-8bit that prints them as U+FFFD."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return str(super().header_fetch_parse(name, unescaped(value)))  # no surrogate left: never a `Header`


_POLICY = _Policy()


def _entity(text: str) -> Message:
    """One MIME entity's headers, its body kept as text: the email package's own recursion never runs."""
    return Parser(policy=_POLICY).parsestr(text, headersonly=True)


def _split(body: str, boundary: str) -> list[str]:
    """The parts of a multipart body between its boundary lines (RFC 2046), at most MAX_PARTS + 1 of them."""
    delimiter = re.compile(rf"^--{re.escape(boundary)}(--)?[ \t]*\r?$", re.MULTILINE)
    parts: list[str] = []
    start: int | None = None
    for found in delimiter.finditer(body):
        if start is not None:
            end = found.start()
            end -= 1 if end > start and body[end - 1] == "\n" else 0
            end -= 1 if end > start and body[end - 1] == "\r" else 0
            parts.append(body[start:end])
            if len(parts) > MAX_PARTS:
                return parts
        if found.group(1):
            return parts
        start = found.end() + (1 if body[found.end() : found.end() + 1] == "\n" else 0)
    if start is not None:  # no closing delimiter: the last part runs to the end
        parts.append(body[start:])
    return parts


def _container_body(entity: Message) -> str:
    """A container's body as it came: an 8-bit byte stays one surrogate-escaped character, as the email package
    keeps it (`get_payload()` without `decode` would replace it)."""
    del entity["Content-Transfer-Encoding"]  # meaningless on a container (RFC 2046 5.1): never decode it
    data = entity.get_payload(decode=True)
    return data.decode("ascii", "surrogateescape") if isinstance(data, bytes) else ""


def _inside(entity: Message, report: bool) -> list[str] | None:
    """The texts of the entities inside this one, or None for a leaf."""
    kind = entity.get_content_type()
    if report and kind in REPORT_PARTS:
        return None
    if kind in _ENCAPSULATING:
        return [_container_body(entity)]
    boundary = entity.get_boundary() if entity.get_content_maintype() == "multipart" else None
    return None if boundary is None else _split(_container_body(entity), boundary)


@dataclass
class Walk:
    leaves: list[tuple[int, Message]] = field(default_factory=list)  # (position among every entity, leaf)
    left_out: list[str] = field(default_factory=list)
    too_deep: bool = False


def walk(top: Message) -> Walk:
    """The leaf parts in document order, depth first on an explicit stack, within MAX_DEPTH and MAX_PARTS."""
    walk = Walk()
    report = top.get_content_type() == "multipart/report"
    stack: list[tuple[Message | str, int]] = [(top, 0)]
    seen = 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            walk.left_out.append(f"[Parts after the first {MAX_PARTS} were not read: the message has more parts]")
            break
        entity = _entity(item) if isinstance(item, str) else item
        inside = _inside(entity, report)
        if inside is None:
            walk.leaves.append((seen - 1, entity))
        elif depth >= MAX_DEPTH:
            walk.too_deep = True
        else:
            stack.extend((text, depth + 1) for text in reversed(inside))
    if walk.too_deep:
        walk.left_out.append(f"[Some parts were not read: the message nests deeper than {MAX_DEPTH} levels]")
    return walk


def headers_of(raw: bytes) -> Message:
    """The message's headers, its body kept as text for `walk`."""
    return BytesParser(policy=_POLICY).parsebytes(raw, headersonly=True)
