"""The orders a ticket list can be read in, and keyset cursors that stay exact over ties and NULLs.

A cursor holds the sort it belongs to, the last row's sort value and its id: the next page is every row after
that pair in the same order. Ties on the value are broken by id in the sort's direction; rows without a value
(no due date, unassigned) come last in either direction.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import ColumnElement, and_, case, or_

from nixflow.domain.errors import ValidationFailed
from nixflow.domain.tickets import Status
from nixflow.domain.values import Priority
from nixflow.store.tables import tickets, users

SortName = Literal[
    "id", "-id", "created_at", "-created_at", "updated_at", "-updated_at", "due", "-due",
    "priority", "-priority", "status", "-status", "title", "-title", "assignee", "-assignee",
]  # fmt: skip
SORT_NAMES: tuple[str, ...] = get_args(SortName)
DEFAULT_SORT: SortName = "-id"  # newest first, as the list has always been
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,2000}$"

# The assignee's name: the list joins the users table under this alias when sorting by it.
assignees = users.alias("assignee")

_PRIORITY_RANK = case({p.value: p.rank for p in Priority}, value=tickets.c.priority, else_=9)  # critical first
_STATUS_RANK = case({s.value: i for i, s in enumerate(Status)}, value=tickets.c.status, else_=9)  # workflow order
_EXPRESSIONS: dict[str, ColumnElement[Any]] = {
    "id": tickets.c.id,
    "created_at": tickets.c.created_at,
    "updated_at": tickets.c.updated_at,
    "due": tickets.c.resolution_due,
    "priority": _PRIORITY_RANK,
    "status": _STATUS_RANK,
    "title": tickets.c.title,
    "assignee": assignees.c.name,
}
_TIMES = {"created_at", "updated_at", "due"}
_NULLABLE = {"due", "assignee"}  # no due date; unassigned


@dataclass(frozen=True)
class Order:
    """One of `SORT_NAMES`: a key, and descending when it starts with '-'."""

    key: str
    descending: bool

    @classmethod
    def parse(cls, name: str) -> Order:
        if name not in SORT_NAMES:
            raise ValidationFailed(f"sort must be one of {', '.join(SORT_NAMES)}")
        return cls(key=name.lstrip("-"), descending=name.startswith("-"))

    @property
    def name(self) -> str:
        return ("-" if self.descending else "") + self.key

    @property
    def expression(self) -> ColumnElement[Any]:
        return _EXPRESSIONS[self.key]

    @property
    def joins_assignee(self) -> bool:
        return self.key == "assignee"

    def order_by(self) -> list[Any]:
        """ORDER BY the value, then id, both in the sort's direction; rows without a value last. (`NULLS LAST`
        rather than an `IS NULL` key: SQLite then walks the column's index instead of sorting the table; and only
        on a value that can be missing: PostgreSQL walks an index backwards as `DESC NULLS FIRST` only.)"""
        expr, ident = self.expression, tickets.c.id
        value = expr.desc() if self.descending else expr.asc()
        return [value.nulls_last() if self.key in _NULLABLE else value, ident.desc() if self.descending else ident]

    def after(self, cursor: str) -> ColumnElement[bool]:
        """The rows that come after the cursor's row in this order."""
        value, last_id = self._decode(cursor)
        expr, ident = self.expression, tickets.c.id
        beyond = ident < last_id if self.descending else ident > last_id
        if value is None:
            return and_(expr.is_(None), beyond)
        further = expr < value if self.descending else expr > value
        return or_(further, and_(expr == value, beyond), expr.is_(None))

    def cursor(self, value: Any, ticket_id: int) -> str:
        """The cursor of a row with this sort value and id."""
        plain = value.isoformat() if isinstance(value, datetime) else value
        raw = json.dumps([self.name, plain, ticket_id], ensure_ascii=False, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def _decode(self, cursor: str) -> tuple[Any, int]:
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            name, value, last_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
            raise ValidationFailed("cursor is not valid") from None
        if name != self.name:
            raise ValidationFailed(f"cursor belongs to sort '{name}', not '{self.name}'")
        if not isinstance(last_id, int) or isinstance(last_id, bool):
            raise ValidationFailed("cursor is not valid")
        return self._typed(value), last_id

    def _typed(self, value: Any) -> Any:
        if value is None:
            return None
        try:
            if self.key in _TIMES and isinstance(value, str):
                return datetime.fromisoformat(value)
            if self.key in ("title", "assignee") and isinstance(value, str):
                return value
            if isinstance(value, int) and not isinstance(value, bool) and self.key not in _TIMES:
                return value
        except ValueError:
            pass
        raise ValidationFailed("cursor is not valid")


NEWEST_FIRST = Order.parse(DEFAULT_SORT)
