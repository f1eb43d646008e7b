"""The queue's filter as query parameters, shared by the list of tickets and the ids of all that match."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from nixflow.api.schemas import PriorityName, StatusName, TagName
from nixflow.domain.json_types import MAX_ID
from nixflow.services.ticket_queries import FIELD_FILTER_PATTERN, TicketFilter, filter_from


def queue_filter(
    status: StatusName | None = None,
    priority: PriorityName | None = None,
    assignee_id: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
    unassigned: Annotated[bool, Query(description="Only tickets nobody is assigned to.")] = False,
    category_id: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    tag: Annotated[
        TagName | None, Query(description="Only tickets with this tag (staff; case does not matter).")
    ] = None,
    organization_id: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="Only tickets opened under this organization.")
    ] = None,
    field: Annotated[
        list[Annotated[str, Query(pattern=FIELD_FILTER_PATTERN, max_length=600)]],
        Query(
            description="`key:value`: only tickets whose custom field has that value (a multi select: has that "
            "option; a checkbox: true or false). Repeat to narrow. Requesters: requester-visible fields only."
        ),
    ] = [],  # noqa: B006 (FastAPI copies the default)
) -> TicketFilter:
    """The filter the query parameters ask for."""
    return filter_from(
        {
            "status": status,
            "priority": priority,
            "assignee_id": assignee_id,
            "unassigned": unassigned,
            "category_id": category_id,
            "q": q,
            "tag": tag,
            "organization_id": organization_id,
            "field": field,
        }
    )


QueueFilter = Annotated[TicketFilter, Depends(queue_filter)]
