"""Presence frames without I/O: what a client may say, and what each viewer is told (one entry per other person)."""

from __future__ import annotations

import json

import pytest

from nixflow.domain.values import Role
from nixflow.presence.hub import FRAME_LIMIT, Announce, frame_for, parse
from nixflow.presence.store import Presence
from nixflow.services.users import Principal

ANN = Principal(id=3, role=Role.AGENT, email="ann@example.com", name="Ann")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('{"type": "presence", "ticket_id": 12}', Announce(12)),
        ('{"type": "presence", "ticket_id": 12, "typing": true}', Announce(12, typing=True)),
        ('{"type": "presence", "ticket_id": null, "typing": true}', Announce(None)),  # nobody types nowhere
        ('{"type": "presence", "ticket_id": 0}', None),
        ('{"type": "presence", "ticket_id": 12.0}', None),
        ('{"type": "presence", "ticket_id": true}', None),
        ('{"type": "presence", "ticket_id": 12, "typing": 1}', None),
        ('{"type": "presence", "ticket_id": 12, "user_id": 4}', None),
        ('{"type": "typing", "ticket_id": 12}', None),
        ('[{"type": "presence", "ticket_id": 12}]', None),
        ("{", None),
        ('{"type": "presence", "ticket_id": 12, "typing": false}' + " " * FRAME_LIMIT, None),
    ],
)
def test_a_client_says_only_which_ticket_and_whether_it_types(text: str, said: Announce | None) -> None:
    assert parse(text) == said


def test_a_viewer_is_told_each_other_person_once_typing_if_any_tab_is() -> None:
    present = [
        Presence("c1", 3, "Ann", typing=True),  # the viewer's own tab: not shown to her
        Presence("c2", 5, "Cy"),
        Presence("c3", 4, "Bob"),
        Presence("c4", 4, "Bob", typing=True),  # Bob's second tab types
    ]
    told = json.loads(frame_for(ANN, 12, present))
    assert told == {
        "type": "presence",
        "ticket_id": 12,
        "people": [
            {"user_id": 4, "name": "Bob", "typing": True},
            {"user_id": 5, "name": "Cy", "typing": False},
        ],
    }
