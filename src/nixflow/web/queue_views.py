"""The queue page's saved views: where each one leads (the queue's own query parameters) and its count."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from nixflow.domain.tickets import OPEN_STATUSES

OPEN = sorted(s.value for s in OPEN_STATUSES)
_PLAIN = ("priority", "category_id", "q", "tag")


def queue_params(filters: Mapping[str, Any], sort: str) -> dict[str, str]:
    """The queue page's query parameters for a view's filters (the page shows open tickets when it names no
    status, and `status=all` for any)."""
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
    return params


def linked(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each view with the queue link that applies it."""
    return [{**v, "href": "/queue?" + urlencode(queue_params(v["filters"], v["sort"]))} for v in views]
