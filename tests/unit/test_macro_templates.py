"""Reply templates: what the allow-list lets through when saved, and how a template renders (no I/O)."""

from __future__ import annotations

import pytest

from nixflow.domain.errors import ValidationFailed
from nixflow.services.macro_templates import MAX_LENGTH, check, render

CONTEXT = {
    "ticket": {"id": 7, "title": "VPN drops", "status": "open", "priority": "high", "fields": {"contract": "C-9"}},
    "requester": {"name": "Rita", "email": "rita@example.com"},
    "agent": {"name": "Ann", "email": "ann@example.com"},
}


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("Hi {{ requester.name }}, #{{ ticket.id }}", "Hi Rita, #7"),
        ("{{ ticket['title']|upper }}", "VPN DROPS"),
        ("{% if ticket.priority == 'high' %}urgent{% else %}calm{% endif %}", "urgent"),
        ("{{ requester.name|default('there') ~ '!' }}", "Rita!"),
        ("{{ ticket.title|truncate(3, True, '', 0) }}", "VPN"),
    ],
)
def test_allowed_templates_render(source: str, text: str) -> None:
    check(source)
    assert render(source, CONTEXT) == text


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("{{ ticket.__class__.__mro__ }}", "'ticket.__class__.__mro__' is not a variable you may use"),
        ("{{ requester }}", "'requester' is not a variable you may use"),
        ("{{ ticket.title.upper() }}", "calling a function is not allowed"),
        ("{{ ticket[ticket.title] }}", "only plain variables may be looked up"),
        ("{% for i in ticket %}x{% endfor %}", "{% for %} is not allowed"),
        ("{% macro m() %}{% endmacro %}", "{% macro %} is not allowed"),
        ("{% set x = 1 %}", "{% set %} is not allowed"),
        ("{% import 'base.html' as b %}", "{% import %} is not allowed"),
        ("{{ 'x' * 1000000 }}", "the operator '*' is not allowed"),
        ("{{ ticket.title|format(1) }}", "the filter 'format' is not allowed"),
        ("{{ ticket.fields.contract }}", "'ticket.fields.contract' is not a variable you may use"),
        ("x" * (MAX_LENGTH + 1), "longer than"),
        ("{% if %}", "line 1:"),
    ],
)
def test_anything_else_is_refused_naming_it(source: str, problem: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check(source)
    assert problem in refused.value.detail
    assert refused.value.errors and refused.value.errors[0]["loc"] == ["body", "body"]


def test_custom_fields_are_allowed_by_key() -> None:
    check("{{ ticket.fields.contract }}", field_keys={"contract"})
    assert render("{{ ticket.fields.contract }}", CONTEXT) == "C-9"
    with pytest.raises(ValidationFailed):
        check("{{ ticket.fields.other }}", field_keys={"contract"})
