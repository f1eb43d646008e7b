"""CSAT and time reports against figures worked out by hand on a small fixed data set, in both modes.

Clock from Monday 2030-01-07 09:00 UTC. Tickets (requester, agent, category, answer):
T1 (Rita of Acme, Ana, Network, good, Jan 7)   T2 (Rita, Ana, Desk, bad "Slow", Jan 8)
T3 (Sam, Bo, Network, good, Jan 9)             T4 (Sam, Bo, Desk, good Jan 14, changed to bad Jan 15)
T5 (Rita, Bo, Network, resolved, no answer)   T6 (Rita, Bo, Network, good, Jan 15)
Time: Jan 7 Ana 30 billable on T1, Bo 20 on T3; Feb 2 Ana 45 billable on T2, Bo 15 billable on T6.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness, ManualClock, User
from tests.csat_helpers import category, resolved
from tests.org_helpers import organization


async def _rate(h: Harness, requester: User, ticket_id: int, rating: str, comment: str | None = None) -> None:
    body = {"rating": rating, "comment": comment}
    answered = await h.client.post(f"/api/csat/tickets/{ticket_id}", json=body, headers=requester.headers)
    assert answered.status_code == 200, answered.text


async def _log(h: Harness, agent: User, ticket_id: int, minutes: int, billable: bool) -> None:
    body = {"minutes": minutes, "billable": billable}
    logged = await h.client.post(f"/api/tickets/{ticket_id}/time-entries", json=body, headers=agent.headers)
    assert logged.status_code == 201, logged.text


async def _get(h: Harness, who: User, path: str, **params: Any) -> Any:
    got = await h.client.get(path, params=params, headers=who.headers)
    assert got.status_code == 200, got.text
    return got.json() if params.get("format") != "csv" else got.text


def _rows(report: dict[str, Any], *fields: str) -> list[tuple[Any, ...]]:
    return [tuple(row[f] for f in fields) for row in report["rows"]]


async def test_csat_and_time_figures_match_the_hand_count(timed_harness: Harness, clock: ManualClock) -> None:
    h = timed_harness
    admin = await h.user("admin")
    ana, bo = await h.user("agent", name="Ana"), await h.user("agent", name="Bo")
    rita, sam = await h.user("requester", name="Rita"), await h.user("requester", name="Sam")
    acme = (await organization(h, admin, "Acme", rita))["id"]
    network, desk = await category(h, admin, "Network"), await category(h, admin, "Desk")

    t1 = await resolved(h, rita, admin, assignee_id=ana.id, category_id=network)
    t2 = await resolved(h, rita, admin, assignee_id=ana.id, category_id=desk)
    t3 = await resolved(h, sam, admin, assignee_id=bo.id, category_id=network)
    t4 = await resolved(h, sam, admin, assignee_id=bo.id, category_id=desk)
    await resolved(h, rita, admin, assignee_id=bo.id, category_id=network)  # T5: never answered
    t6 = await resolved(h, rita, admin, assignee_id=bo.id, category_id=network)
    await _rate(h, rita, t1, "good")
    await _log(h, ana, t1, 30, True)
    await _log(h, bo, t3, 20, False)
    clock.advance(days=1)
    await _rate(h, rita, t2, "bad", "Slow")
    clock.advance(days=1)
    await _rate(h, sam, t3, "good")
    clock.advance(days=5)  # Monday 2030-01-14: the second week
    await _rate(h, sam, t4, "good", "Great")
    clock.advance(days=1)
    await _rate(h, sam, t4, "bad", "It came back")
    await _rate(h, rita, t6, "good")
    clock.now = clock.now.replace(month=2, day=2)
    await _log(h, ana, t2, 45, True)
    await _log(h, bo, t6, 15, True)

    fields = ("label", "good", "bad", "answers", "score")
    by_agent = await _get(h, admin, "/api/csat/results", by="agent")
    assert _rows(by_agent, *fields) == [("Ana", 1, 1, 2, 50.0), ("Bo", 2, 1, 3, 66.7)]
    by_category = await _get(h, ana, "/api/csat/results", by="category")
    assert _rows(by_category, *fields) == [("Network", 3, 0, 3, 100.0), ("Desk", 0, 2, 2, 0.0)]
    by_org = await _get(h, ana, "/api/csat/results", by="organization")
    assert _rows(by_org, "key", *fields) == [(acme, "Acme", 2, 1, 3, 66.7), (None, "none", 1, 1, 2, 50.0)]
    by_week = await _get(h, ana, "/api/csat/results", by="week")
    assert _rows(by_week, "key", "good", "bad", "score") == [("2030-01-07", 2, 1, 66.7), ("2030-01-14", 1, 1, 50.0)]
    second_week = await _get(h, ana, "/api/csat/results", by="agent", since="2030-01-14T00:00:00Z")
    assert _rows(second_week, "label", "good", "bad") == [("Bo", 1, 1)]
    csv = await _get(h, ana, "/api/csat/results", by="category", format="csv")
    assert csv.splitlines() == [
        "key,label,good,bad,answers,score",
        f"{network},Network,3,0,3,100.0",
        f"{desk},Desk,0,2,2,0.0",
    ]

    comments = await _get(h, ana, "/api/csat/comments", by="agent", key=str(ana.id))
    assert (comments["total"], comments["label"]) == (2, "Ana")
    assert [(i["ticket_id"], i["rating"], i["comment"]) for i in comments["items"]] == [
        (t2, "bad", "Slow"),
        (t1, "good", None),
    ]
    week_two = await _get(h, ana, "/api/csat/comments", by="week", key="2030-01-14")
    assert {(i["ticket_id"], i["comment"]) for i in week_two["items"]} == {(t4, "It came back"), (t6, None)}
    none_org = await _get(h, ana, "/api/csat/comments", by="organization", key="none")
    assert sorted(i["ticket_id"] for i in none_org["items"]) == [t3, t4]

    time_fields = ("label", "minutes", "billable_minutes", "entries")
    assert _rows(await _get(h, ana, "/api/reports/time", by="agent"), *time_fields) == [
        ("Ana", 75, 75, 2),
        ("Bo", 35, 15, 2),
    ]
    assert _rows(await _get(h, ana, "/api/reports/time", by="organization"), *time_fields) == [
        ("Acme", 90, 90, 3),
        ("none", 20, 0, 1),
    ]
    assert _rows(await _get(h, ana, "/api/reports/time", by="month"), *time_fields) == [
        ("2030-01", 50, 30, 2),
        ("2030-02", 60, 60, 2),
    ]
    month_csv = await _get(h, ana, "/api/reports/time", by="month", format="csv")
    assert month_csv.splitlines() == [
        "key,label,minutes,billable_minutes,entries",
        "2030-01,2030-01,50,30,2",
        "2030-02,2030-02,60,60,2",
    ]
    assert (await h.client.get("/api/reports/time", headers=rita.headers)).status_code == 403
    assert (await h.client.get("/api/csat/results", headers=rita.headers)).status_code == 403
