"""Languages: choosing a reader's language, the plural categories handed to scripts, formatting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nixflow import i18n
from nixflow.config import ConfigError, load_settings
from nixflow.i18n.browser import browser_catalogue, plural_map
from nixflow.i18n.formatting import format_datetime, format_relative


@pytest.mark.parametrize(
    ("header", "chosen", "expected"),
    [
        ("fr-CH, fr;q=0.9, en;q=0.8", None, "fr"),  # a region of a shipped language is that language
        ("de;q=0.1, es;q=0.5", None, "es"),  # the best quality wins, not the first listed
        ("pt-BR, ja", None, "de"),  # nothing shipped asked for: the instance default
        ("de;q=0, fr", None, "fr"),  # q=0 means "not this one"
        ("en-GB", "ar", "ar"),  # the person's own choice comes before their browser
        ("en-GB", "xx", "en"),  # a choice no longer shipped is ignored
        ("garbage;;q=abc, ,;", None, "de"),
        (None, None, "de"),
    ],
)
def test_negotiate(header: str | None, chosen: str | None, expected: str) -> None:
    assert i18n.negotiate(header, chosen, "de") == expected


def test_plural_map_follows_cldr_categories_to_gettext_forms() -> None:
    # Arabic has six forms; the gettext index of each CLDR category must pick the matching form.
    assert plural_map("ar") == {"zero": 0, "one": 1, "two": 2, "few": 3, "many": 4, "other": 5}
    assert plural_map("de") == {"one": 0, "other": 1}
    assert plural_map("fr") == {"one": 0, "many": 1, "other": 2}  # 1 000 000 is "many" in French


def test_ngettext_picks_the_language_form() -> None:
    tr = i18n.translator("ar")
    assert [tr.form_index(n) for n in (0, 1, 2, 5, 11, 100)] == [0, 1, 2, 3, 4, 5]
    assert i18n.translator("en").ngettext("%(num)d ticket", "%(num)d tickets", 2) == "%(num)d tickets"


def test_browser_catalogue_of_english_is_empty_and_arabic_is_rtl() -> None:
    assert browser_catalogue("en", "UTC") == {
        "lang": "en",
        "dir": "ltr",
        "timezone": "UTC",
        "messages": {},
        "plurals": {},
    }
    assert browser_catalogue("ar", "Asia/Riyadh")["dir"] == "rtl"


def test_dates_in_the_readers_language_and_zone() -> None:
    moment = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
    assert format_datetime(moment, locale="de", timezone="Europe/Berlin").startswith("07.01.2030, 10:00:00")
    assert format_relative(timedelta(hours=3), locale="de") == "in 3 Stunden"
    assert format_relative(timedelta(hours=-3), locale="en") == "3 hours ago"


@pytest.mark.parametrize(("name", "value"), [("default_locale", "xx"), ("default_timezone", "Mars/Olympus")])
def test_unknown_default_is_refused_at_startup(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"NIXFLOW_{name.upper()}"):
        load_settings(**{name: value})
