"""User-Agent headers reduced to the browser and system a person recognises in "Your sessions"."""

from __future__ import annotations

import pytest

from nixflow.domain.user_agents import MAX_LABEL, UNKNOWN, describe


@pytest.mark.parametrize(
    ("header", "label"),
    [
        ("Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0", "Firefox on Linux"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/125.0.0.0 Safari/537.36 Edg/125.0.0.0",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/125.0.0.0 Safari/537.36",
            "Chrome on macOS",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.4 Mobile/15E148 Safari/604.1",
            "Safari on iOS",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/125.0.0.0 Mobile Safari/537.36",
            "Chrome on Android",
        ),
        (
            "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 Chrome/125.0 Safari/537.36",
            "Chrome on ChromeOS",
        ),
        ("curl/8.5.0", "curl"),
        ("python-httpx/0.27.0", "python-httpx"),
        ("Mozilla/5.0 (X11; Linux x86_64)", "A browser on Linux"),
        ("", UNKNOWN),
        (None, UNKNOWN),
        ("!!!", UNKNOWN),
    ],
)
def test_a_header_becomes_browser_and_system(header: str | None, label: str) -> None:
    assert describe(header) == label


def test_a_label_is_short_and_never_the_version() -> None:
    long = "x" * 5000
    assert len(describe(long)) <= MAX_LABEL
    assert "126" not in describe("Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0")
