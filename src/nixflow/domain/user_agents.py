"""A User-Agent header reduced to what a person recognises: the browser (or program) and the system.

Only the label is stored, never the header: it is what "Your sessions" shows, and it carries no version or
build string that could fingerprint the person.
"""

from __future__ import annotations

import re

MAX_LABEL = 80
UNKNOWN = "Unknown client"

# First match wins: Edge and Opera also say Chrome, Chrome also says Safari, Android also says Linux.
_BROWSERS = (
    ("Edge", re.compile(r"\bEdg(e|A|iOS)?/")),
    ("Opera", re.compile(r"\b(OPR|Opera)/")),
    ("Samsung Internet", re.compile(r"\bSamsungBrowser/")),
    ("Firefox", re.compile(r"\b(Firefox|FxiOS)/")),
    ("Chromium", re.compile(r"\bChromium/")),
    ("Chrome", re.compile(r"\b(Chrome|CriOS|HeadlessChrome)/")),
    ("Safari", re.compile(r"\bVersion/[\d.]+.*\bSafari/")),
)
_SYSTEMS = (
    ("Windows", re.compile(r"\bWindows\b")),
    ("Android", re.compile(r"\bAndroid\b")),
    ("iOS", re.compile(r"\b(iPhone|iPad|iPod)\b")),
    ("macOS", re.compile(r"\bMac OS X\b|\bMacintosh\b")),
    ("ChromeOS", re.compile(r"\bCrOS\b")),
    ("Linux", re.compile(r"\bLinux\b")),
)
# A program's own product token ("curl/8.5.0", "python-httpx/0.27"): its name, without the version.
_PRODUCT = re.compile(r"^([A-Za-z][A-Za-z0-9._-]{0,40})(/|\s|$)")


def describe(header: str | None) -> str:
    """`Firefox on Linux`, `Safari on iOS`, `curl`: the browser and system a User-Agent header names."""
    text = (header or "").strip()[:512]
    if not text:
        return UNKNOWN
    browser = next((name for name, pattern in _BROWSERS if pattern.search(text)), None)
    system = next((name for name, pattern in _SYSTEMS if pattern.search(text)), None)
    if browser is None:
        product = _PRODUCT.match(text)
        browser = product.group(1) if product and product.group(1) != "Mozilla" else None
    if browser and system:
        return f"{browser} on {system}"[:MAX_LABEL]
    return (browser or (f"A browser on {system}" if system else UNKNOWN))[:MAX_LABEL]
