"""The queue page's saved views: where each one leads (the queue's own query parameters, its custom field columns
included) and its count; and the custom field columns the page shows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from nixflow.domain.fields import FieldDefinition
from nixflow.domain.tickets import OPEN_STATUSES
from nixflow.i18n import Translator

FIELD_COLUMN = "field:"  # a view's column `field:<key>`: that custom ticket field

OPEN = sorted(s.value for s in OPEN_STATUSES)
_PLAIN = ("priority", "category_id", "q", "tag")


def queue_params(filters: Mapping[str, Any], sort: str, columns: Iterable[str] = ()) -> dict[str, str]:
    """The queue page's query parameters for a view's filters (the page shows open tickets when it names no
    status, and `status=all` for any) and its custom field columns (`columns=field:a,field:b`)."""
    params = {key: str(filters[key]) for key in _PLAIN if filters.get(key) not in (None, "")}
    statuses = sorted(filters.get("statuses") or ())
    if filters.get("status"):
        params["status"] = str(filters["status"])
    elif statuses != OPEN:
        params["status"] = statuses[0] if len(statuses) == 1 else "all"
    if filters.get("unassigned"):
        params["assignee_id"] = "none"
    elif filters.get("assignee_id") is not None:
        params["assignee_id"] = str(filters["assignee_id"])
    if sort != "-id":
        params["sort"] = sort
    shown = [c for c in columns if c.startswith(FIELD_COLUMN)]
    if shown:
        params["columns"] = ",".join(shown)
    return params


def linked(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each view with the queue link that applies it."""
    return [
        {**v, "href": "/queue?" + urlencode(queue_params(v["filters"], v["sort"], v.get("columns") or ()))}
        for v in views
    ]


@dataclass(frozen=True)
class FieldColumn:
    """A custom field shown as a queue column."""

    key: str
    label: str


def field_columns(columns: str, definitions: Mapping[str, FieldDefinition]) -> list[FieldColumn]:
    """The columns `field:<key>` named in `columns` (comma-separated), in that order, once each, of the fields
    defined and not archived; other names are passed over (a view may outlive a field)."""
    keys = [c.strip().removeprefix(FIELD_COLUMN) for c in columns.split(",") if c.strip().startswith(FIELD_COLUMN)]
    chosen = [definitions[k] for k in dict.fromkeys(keys) if k in definitions and not definitions[k].archived]
    return [FieldColumn(d.key, d.label) for d in chosen]


def cell(value: Any, *, tr: Translator) -> str:
    """A field value as a queue cell shows it: a multi select joined, a checkbox yes or no (in the reader's
    language), nothing as a dash."""
    if value is None or value == []:
        return "—"
    if isinstance(value, bool):
        return tr.gettext("yes") if value else tr.gettext("no")
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
