"""Where a browser may be sent back to after signing in."""

from __future__ import annotations


def safe_next(target: str | None) -> str:
    """Only a path on this site may be the page to go to after signing in (never `//host` or `/\\host`)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
