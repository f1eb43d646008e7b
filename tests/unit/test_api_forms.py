"""Forms the page's script sends to the API must be harmless if sent before the script runs (a click or Enter while
the page is still loading): a GET would put what was typed, a password or a comment, in the address and the logs."""

import re
from pathlib import Path

import nixflow.web

TEMPLATES = Path(nixflow.web.__file__).parent / "templates"
STATIC = Path(nixflow.web.__file__).parent / "static"


def api_forms() -> list[tuple[str, str]]:
    found = []
    for path in sorted(TEMPLATES.glob("*.html")):
        for tag in re.findall(r"<form\b[^>]*>", path.read_text()):
            if "data-api" in tag:
                found.append((path.name, tag))
    return found


def test_there_are_api_forms_to_check() -> None:
    names = {name for name, _tag in api_forms()}
    assert {"login.html", "ticket.html", "ticket_new.html"} <= names


def test_every_api_form_falls_back_to_post_not_get() -> None:
    gets = [(name, tag) for name, tag in api_forms() if not re.search(r'\smethod="post"', tag)]
    assert gets == []


def test_api_buttons_take_no_clicks_until_the_page_script_says_it_is_ready() -> None:
    assert "<body data-loading " in (TEMPLATES / "base.html").read_text()
    assert "body[data-loading] form[data-api] button" in (STATIC / "style.css").read_text()
    assert 'body.removeAttribute("data-loading")' in (STATIC / "app.js").read_text()
