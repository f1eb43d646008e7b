"""JSON value types that accept exactly what their JSON Schema says, no more and no less. Pure: no I/O."""

from __future__ import annotations

import re
from typing import Annotated, Any

from annotated_types import Interval
from pydantic import BeforeValidator, Strict, StrictFloat, StrictInt

# JSON Schema's `integer` includes 78.0; strict pydantic refuses it. `true` and "78" stay refused.
MAX_ID = 2**53  # the largest integer every JSON client reads exactly; far inside the database's 64 bits
# White space as Python's `str.strip()` sees it, spelled out: `\s` means different things to different regex engines
# (and to the generators that draw strings from a pattern), an explicit class means the same to all of them.
WHITE_SPACE = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
NOT_BLANK = f"[^{WHITE_SPACE}]"  # at least one character that is not white space (the services strip first)
_NOT_BLANK = re.compile(NOT_BLANK)
# What the server takes for an e-mail address; the schema says so with this pattern.
EMAIL_PATTERN = f"^[^@{WHITE_SPACE}]+@[^@{WHITE_SPACE}]+\\.[^@{WHITE_SPACE}]+$"


def integral(value: Any) -> Any:
    """78.0 as 78; anything else as it is (for the strict check that follows)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def not_blank(value: str) -> bool:
    """Whether `value` has a character that is not white space, exactly as the schema's pattern says."""
    return _NOT_BLANK.search(value) is not None


def is_integer(value: Any) -> bool:
    """A JSON integer: an int (not a bool), or a float with no fractional part."""
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer())


# Bounds go before the BeforeValidator, or pydantic writes them into the schema as `ge`/`le`, not `minimum`.
Integer = Annotated[int, Strict(), BeforeValidator(integral)]
Id = Annotated[int, Strict(), Interval(ge=0, le=MAX_ID), BeforeValidator(integral)]
Percent = Annotated[int, Strict(), Interval(ge=0, le=100), BeforeValidator(integral)]
Minutes = Annotated[int, Strict(), Interval(ge=1, le=525_600), BeforeValidator(integral)]
Position = Annotated[int, Strict(), Interval(ge=-1_000_000, le=1_000_000), BeforeValidator(integral)]
Number = StrictInt | StrictFloat  # a JSON number: 1 and 1.5 (kept as they came), not true or "1"
