"""A reply's template: checked against an allow-list when it is saved, rendered in Jinja2's sandbox when used.

The check walks the parsed template: only the variables of `VARIABLES`, the filters of `FILTERS` and the plain
nodes of `_NODES` (text, output, `{% if %}`, comparisons) may appear. No loops, macros, includes, assignments or
calls, so rendering is bounded by the template's size (at most `MAX_LENGTH` characters). The sandbox is a
second line, not the first: a template that passed the check reaches nothing else.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any, NoReturn

from jinja2 import TemplateError, TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import Connection, bindparam, select

from nixflow.domain.errors import ValidationFailed
from nixflow.services.users import Principal
from nixflow.store.fast import Fast
from nixflow.store.tables import users

MAX_LENGTH = 10_000
VARIABLES = (
    "ticket.id",
    "ticket.title",
    "ticket.status",
    "ticket.priority",
    "requester.name",
    "requester.email",
    "agent.name",
    "agent.email",
)
FIELDS_PREFIX = ("ticket", "fields")  # `ticket.fields.<key>`, for the keys of the admins' custom fields
FILTERS = frozenset({"default", "upper", "lower", "title", "capitalize", "trim", "truncate"})
_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Const,
    nodes.If,
    nodes.CondExpr,
    nodes.Not,
    nodes.And,
    nodes.Or,
    nodes.Compare,
    nodes.Operand,
    nodes.Concat,
    nodes.Keyword,
)
_TAGS = {
    nodes.For: "{% for %}",
    nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}",
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from ... import %}",
    nodes.Extends: "{% extends %}",
    nodes.Block: "{% block %}",
    nodes.Assign: "{% set %}",
    nodes.AssignBlock: "{% set %}",
    nodes.FilterBlock: "{% filter %}",
    nodes.With: "{% with %}",
    nodes.Call: "calling a function",
    nodes.Test: "a test (`is ...`)",
}


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
    env.globals.clear()  # no range, lipsum, cycler, joiner or namespace
    env.filters = {name: env.filters[name] for name in FILTERS}
    env.tests = {}
    return env


def _path(node: nodes.Expr) -> tuple[str, ...] | None:
    """`ticket.title` or `ticket["title"]` as ("ticket", "title"); None for anything but a variable's path."""
    if isinstance(node, nodes.Name):
        return (node.name,)
    if isinstance(node, nodes.Getattr):
        base = _path(node.node)
        return None if base is None else (*base, node.attr)
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        base = _path(node.node)
        return None if base is None else (*base, node.arg.value)
    return None


def _allowed(path: tuple[str, ...], field_keys: Collection[str]) -> bool:
    if ".".join(path) in VARIABLES:
        return True
    return len(path) == 3 and path[:2] == FIELDS_PREFIX and path[2] in field_keys


def _problems(node: nodes.Node, field_keys: Collection[str]) -> Iterator[str]:
    if isinstance(node, nodes.Name | nodes.Getattr | nodes.Getitem):
        path = _path(node)
        if path is None:
            yield "only plain variables may be looked up (no computed keys or slices)"
        elif not _allowed(path, field_keys):
            yield f"'{'.'.join(path)}' is not a variable you may use"
        return
    if isinstance(node, nodes.Filter):
        if node.name not in FILTERS:
            yield f"the filter '{node.name}' is not allowed"
    elif isinstance(node, nodes.BinExpr | nodes.UnaryExpr) and not isinstance(node, nodes.And | nodes.Or | nodes.Not):
        yield f"the operator '{node.operator}' is not allowed"
        return
    elif not isinstance(node, _NODES):
        yield f"{_TAGS.get(type(node), type(node).__name__)} is not allowed"
        return
    for child in node.iter_child_nodes():
        yield from _problems(child, field_keys)


def check(source: str, *, field_keys: Collection[str] = ()) -> None:
    """ValidationFailed naming what a template may not do (or where it does not parse); None if it may be saved.

    `field_keys`: the custom fields `ticket.fields.<key>` may name."""
    if len(source) > MAX_LENGTH:
        _refuse([f"the template is longer than {MAX_LENGTH} characters"])
    try:
        parsed = _environment().parse(source)
    except TemplateSyntaxError as exc:
        _refuse([f"line {exc.lineno}: {exc.message}"])
    problems = list(dict.fromkeys(_problems(parsed, field_keys)))
    if problems:
        _refuse(problems)


def _refuse(problems: list[str]) -> NoReturn:
    allowed = ", ".join(VARIABLES)
    detail = f"the template may not be saved: {'; '.join(problems)} (variables: {allowed}; filters: "
    detail += f"{', '.join(sorted(FILTERS))}; no loops, macros, includes, assignments or calls)"
    raise ValidationFailed(detail, errors=[{"loc": ["body", "body"], "msg": p} for p in problems])


def render(source: str, context: dict[str, Any]) -> str:
    """The text of a checked template, with `context` (see `context`) filled in."""
    try:
        return _environment().from_string(source).render(context)
    except TemplateError as exc:  # a template saved before the allow-list changed
        raise ValidationFailed(f"the template cannot be rendered: {exc}") from None


_PERSON = Fast(select(users.c.name, users.c.email).where(users.c.id == bindparam("b_id")))


def context(conn: Connection, *, ticket: dict[str, Any], agent: Principal) -> dict[str, Any]:
    """What a template may read, as `VARIABLES` name it, for `agent` writing on `ticket`: the one place to add
    a variable (and its name to `VARIABLES`)."""
    requester = _PERSON.first(conn, {"b_id": ticket["requester_id"]}) or {"name": "", "email": ""}
    return {
        "ticket": {
            "id": ticket["id"],
            "title": ticket["title"],
            "status": ticket["status"],
            "priority": ticket["priority"],
            "fields": ticket.get("fields") or {},
        },
        "requester": {"name": requester["name"], "email": requester["email"]},
        "agent": {"name": agent.name, "email": agent.email},
    }
