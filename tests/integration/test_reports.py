"""Reports over a fixed scenario built at simulated times: every figure is worked out by hand below.

The scenario (minutes after T0 = Monday 2030-01-07 09:00 UTC; every ticket normal priority: SLA 240 / 1440):
    0  t1 opened (Hardware)                       5  t1 assigned to agent A
   10  t2 opened (Software)                      15  admin's internal note on t2 (no reply)
   20  t3 opened (no category); t2's requester comments (no reply)
   30  A replies on t1 (first reply: 30 min); t1 open
   70  B replies on t2 (first reply: 60 min); t2 open, assigned to B
  120  t1 resolved (resolution: 120 min)        250  t2 resolved
  261  t3's first-response SLA breached (due 260; the tick at 261 finds it)
  300  t2 reopened by its requester              400  t2 resolved again (resolution: 390 min)
 1440  t4 opened (Hardware), assigned to A      1455  A replies on t4 (first reply: 15 min)
 1461  t3's resolution SLA breached (due 1460)  1500  now
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.cli_helpers import run_cli
from tests.conftest import Harness, ManualClock
from tests.scenario import T0, Scenario
from tests.scenario import iso as _iso

from nixflow.config import Settings
from nixflow.reports import figures
from nixflow.reports.metrics import Scope, calendar_minutes, summary
from nixflow.reports.rebuild import TABLES, HistoryLost, rebuild
from nixflow.store import event_log

DAY = T0 + timedelta(days=1)


@pytest.fixture
async def scenario(timed_harness: Harness, clock: ManualClock) -> dict[str, Any]:
    h = timed_harness
    s = Scenario(h, clock)
    admin, requester = await h.user("admin"), await h.user("requester")
    a, b = await h.user("agent", name="Agent A"), await h.user("agent", name="Agent B")
    hardware = (await s.call(admin, "POST", "/api/categories", name="Hardware"))["id"]
    software = (await s.call(admin, "POST", "/api/categories", name="Software"))["id"]
    await s.at(0)
    await s.open(requester, "t1", hardware)
    await s.at(5)
    await s.assign(admin, "t1", a)
    await s.at(10)
    await s.open(requester, "t2", software)
    await s.at(15)
    await s.comment(admin, "t2", internal=True)
    await s.at(20)
    await s.open(requester, "t3")
    await s.comment(requester, "t2")
    await s.at(30)
    await s.comment(a, "t1")  # the reply opens it
    await s.at(70)
    await s.comment(b, "t2")
    await s.assign(admin, "t2", b)
    await s.at(120)
    await s.move(a, "t1", "resolved")
    await s.at(250)
    await s.move(b, "t2", "resolved")
    await s.at(259)
    await s.at(261)
    await s.at(300)
    await s.move(requester, "t2", "open")
    await s.at(400)
    await s.move(b, "t2", "resolved")
    await s.at(1440)
    await s.open(requester, "t4", hardware)
    await s.assign(admin, "t4", a)
    await s.at(1455)
    await s.comment(a, "t4")
    await s.at(1459)
    await s.at(1461)
    await s.at(1500)
    return {"h": h, "ids": s.tickets, "admin": admin, "agent": a, "b": b, "requester": requester,
            "hardware": hardware, "software": software}  # fmt: skip


async def _get(world: dict[str, Any], path: str, user: str = "agent", **params: Any) -> Any:
    response = await world["h"].client.get(f"/api/reports/{path}", params=params, headers=world[user].headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_summary_figures_by_hand(scenario: dict[str, Any]) -> None:
    first_day = await _get(scenario, "summary", since=_iso(0), until=_iso(1440))
    assert first_day == {
        "tickets_created": 3,  # t1 t2 t3
        "tickets_solved": 2,  # t1; t2 (resolved twice, counted once)
        "first_reply": {"median_minutes": 45.0, "p90_minutes": 60.0, "count": 2},  # 30, 60
        "resolution": {"median_minutes": 255.0, "p90_minutes": 390.0, "count": 2},  # 120, 390
        "sla_compliance": {"first_response": 2 / 3, "resolution": 1.0},  # t3's first response breached
        "backlog_at_end": 1,  # t3 (t4 opens at the end instant: not before it)
    }
    everything = await _get(scenario, "summary")  # since: the beginning; until: now (1500)
    assert everything == {
        "tickets_created": 4,
        "tickets_solved": 2,
        "first_reply": {"median_minutes": 30.0, "p90_minutes": 60.0, "count": 3},  # 15, 30, 60
        "resolution": {"median_minutes": 255.0, "p90_minutes": 390.0, "count": 2},
        "sla_compliance": {"first_response": 0.75, "resolution": 2 / 3},  # t3 breached both
        "backlog_at_end": 2,  # t3, t4
    }
    mid = await _get(scenario, "summary", since=_iso(260), until=_iso(350))
    assert (mid["tickets_solved"], mid["resolution"]["count"], mid["backlog_at_end"]) == (0, 0, 2)  # t2 reopened
    assert mid["sla_compliance"] == {"first_response": 0.0, "resolution": None}  # only t3's breach at 261

    hardware = await _get(scenario, "summary", category_id=scenario["hardware"])
    assert (hardware["tickets_created"], hardware["tickets_solved"], hardware["backlog_at_end"]) == (2, 1, 1)
    assert hardware["first_reply"] == {"median_minutes": 22.5, "p90_minutes": 30.0, "count": 2}  # 30, 15
    agent_b = await _get(scenario, "summary", agent_id=scenario["b"].id)
    assert agent_b["tickets_created"] == 1 and agent_b["resolution"]["median_minutes"] == 390.0
    assert agent_b["backlog_at_end"] == 0


async def test_reports_by_tag(scenario: dict[str, Any]) -> None:
    """`?tag=` narrows every report to the tickets that have the tag now (t1 and t3 here)."""
    h, ids, admin = scenario["h"], scenario["ids"], scenario["admin"]
    for name in ("t1", "t3"):
        tagged = await h.client.post(f"/api/tickets/{ids[name]}/tags", json={"tags": ["VPN"]}, headers=admin.headers)
        assert tagged.status_code == 200, tagged.text
    vpn = await _get(scenario, "summary", tag="vpn")
    assert (vpn["tickets_created"], vpn["tickets_solved"], vpn["backlog_at_end"]) == (2, 1, 1)
    drill = await _get(scenario, "drilldown", metric="tickets_created", tag="Vpn")
    assert sorted(i["ticket_id"] for i in drill["items"]) == sorted([ids["t1"], ids["t3"]])
    assert (await _get(scenario, "summary", tag="printer"))["tickets_created"] == 0


async def test_series_workload_drilldown_and_csv(scenario: dict[str, Any]) -> None:
    ids = scenario["ids"]
    window = {"since": _iso(0), "until": _iso(2880), "interval": "day"}
    created = await _get(scenario, "series", metric="tickets_created", **window)
    assert [p["value"] for p in created["points"]] == [3, 1]  # UTC days: 7 and 8 January (up to now: 10:00)
    assert created["points"][0]["start"].startswith("2030-01-07T00:00:00")
    solved = await _get(scenario, "series", metric="tickets_solved", **window)
    assert [p["value"] for p in solved["points"]] == [2, 0]
    backlog = await _get(scenario, "series", metric="backlog", **window)
    assert [p["value"] for p in backlog["points"]] == [1, 2]
    assert backlog["points"][-1]["end"].startswith("2030-01-08T10:00:00")  # now, not the later `until`
    weekly = await _get(scenario, "series", metric="first_reply", since=_iso(0), until=_iso(2880), interval="week")
    assert [(p["value"], p["count"]) for p in weekly["points"]] == [(30.0, 3)]
    reopens = await _get(scenario, "series", metric="reopens", **window)
    assert [p["value"] for p in reopens["points"]] == [1, 0]
    far = await _get(scenario, "series", metric="backlog", since="1900-01-01T00:00:00Z", until="9999-12-31T00:00:00Z")
    assert [p["value"] for p in far["points"]] == [1, 2]  # from the first ticket's day to now
    edges = await _get(scenario, "summary", since="0001-01-01T00:00:00+01:00", until="9999-12-31T23:59:59-23:59")
    assert edges["tickets_created"] == 4  # times past what UTC can hold stand for the first and last instants

    workload = await _get(scenario, "workload", by="agent")
    assert workload["rows"] == [
        {"key": scenario["agent"].id, "tickets_created": 2, "tickets_solved": 1, "backlog_at_end": 1},
        {"key": scenario["b"].id, "tickets_created": 1, "tickets_solved": 1, "backlog_at_end": 0},
        {"key": None, "tickets_created": 1, "tickets_solved": 0, "backlog_at_end": 1},
    ]
    by_category = await _get(scenario, "workload", by="category")
    assert [(r["key"], r["tickets_created"]) for r in by_category["rows"]] == [
        (scenario["hardware"], 2),
        (scenario["software"], 1),
        (None, 1),
    ]

    drill = await _get(scenario, "drilldown", "admin", metric="first_reply", since=_iso(0), until=_iso(1440))
    assert drill["total"] == 2
    assert [(i["ticket_id"], i["minutes"]) for i in drill["items"]] == [(ids["t1"], 30.0), (ids["t2"], 60.0)]
    assert drill["items"][0]["title"] == "Question t1" and drill["items"][0]["at"].startswith("2030-01-07T09:30")
    timeline = await scenario["h"].client.get(drill["items"][1]["events_url"], headers=scenario["agent"].headers)
    assert "ticket.commented" in [e["type"] for e in timeline.json()]
    breached = await _get(scenario, "drilldown", metric="sla_first_response")
    assert [(i["ticket_id"], i["outcome"]) for i in breached["items"] if i["outcome"] == "breached"] == [
        (ids["t3"], "breached")
    ]

    h, headers = scenario["h"], scenario["agent"].headers
    as_csv = await h.client.get("/api/reports/series?metric=tickets_created&interval=day"
                                f"&since={_iso(0)}&until={_iso(2880)}&format=csv", headers=headers)  # fmt: skip
    assert as_csv.headers["content-type"].startswith("text/csv")
    lines = as_csv.text.splitlines()
    assert lines[0] == "start,end,value,count" and lines[1].endswith(",3,3") and len(lines) == 3
    accepted = await h.client.get("/api/reports/summary", headers={**headers, "Accept": "text/csv"})
    header, row = accepted.text.splitlines()
    assert dict(zip(header.split(","), row.split(","), strict=True))["backlog_at_end"] == "2"


async def test_who_may_ask_and_business_hours(scenario: dict[str, Any]) -> None:
    h = scenario["h"]
    for path in ("summary", "series?metric=backlog", "drilldown?metric=backlog", "workload"):
        refused = await h.client.get(f"/api/reports/{path}", headers=scenario["requester"].headers)
        assert refused.status_code == 403, path
        assert (await h.client.get(f"/api/reports/{path}")).status_code == 401
    assert (await _get(scenario, "summary", "admin", business_hours="false"))["tickets_created"] == 4
    business = await h.client.get("/api/reports/summary?business_hours=true", headers=scenario["agent"].headers)
    assert business.status_code == 200  # no calendar anywhere: 24/7, in whole minutes
    assert business.json()["first_reply"] == {"median_minutes": 30.0, "p90_minutes": 60.0, "count": 3}
    wrong = await h.client.get("/api/reports/series?metric=nope", headers=scenario["agent"].headers)
    assert wrong.status_code == 422


async def test_business_time_by_hand(scenario: dict[str, Any]) -> None:
    h, admin = scenario["h"], scenario["admin"]

    async def calendar(name: str, hours: list[list[str]]) -> int:
        days = {d: hours for d in ("mon", "tue", "wed", "thu", "fri")}
        body = {"name": name, "timezone": "UTC", "hours": days}
        created = await h.client.post("/api/calendars", json=body, headers=admin.headers)
        assert created.status_code == 201, created.text
        return int(created.json()["id"])

    # Hardware (t1, t4) counts 09:00-09:20 and 09:40-17:00; Software (t2) has no calendar: 24/7.
    short = await calendar("Coffee break", [["09:00", "09:20"], ["09:40", "17:00"]])
    url = f"/api/categories/{scenario['hardware']}"
    response = await h.client.patch(url, json={"calendar_id": short}, headers=admin.headers)
    assert response.status_code == 200 and response.json()["calendar_id"] == short, response.text
    business = await _get(scenario, "summary", business_hours="true")
    # First replies: t1 09:00-09:30 -> 20, t2 60 (24/7), t4 Tuesday 09:00-09:15 -> 15.
    assert business["first_reply"] == {"median_minutes": 20.0, "p90_minutes": 60.0, "count": 3}
    # Resolutions: t1 09:00-11:00 -> 20 + 80 = 100, t2 390 (24/7).
    assert business["resolution"] == {"median_minutes": 245.0, "p90_minutes": 390.0, "count": 2}
    calendar_time = await _get(scenario, "summary", business_hours="false")
    assert calendar_time["first_reply"] == {"median_minutes": 30.0, "p90_minutes": 60.0, "count": 3}
    assert calendar_time["resolution"] == {"median_minutes": 255.0, "p90_minutes": 390.0, "count": 2}

    # The policy's calendar wins over the category's: every ticket now counts 09:00-10:00 only.
    mornings = await calendar("Mornings", [["09:00", "10:00"]])
    policy = {"first_response_minutes": 240, "resolution_minutes": 1440, "warning_percent": 80}
    response = await h.client.put(
        "/api/sla/policies/normal", json={**policy, "calendar_id": mornings}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    # t1: reply 30, resolution 60; t2 (opened 09:10): reply at 10:10 -> 50, resolved at 15:40 -> 50; t4: 15.
    business = await _get(scenario, "summary", business_hours="true")
    assert business["first_reply"] == {"median_minutes": 30.0, "p90_minutes": 50.0, "count": 3}
    assert business["resolution"] == {"median_minutes": 55.0, "p90_minutes": 60.0, "count": 2}
    drill = await _get(scenario, "drilldown", metric="resolution", business_hours="true")
    assert [(i["ticket_id"], i["minutes"]) for i in drill["items"]] == [
        (scenario["ids"]["t1"], 60.0),
        (scenario["ids"]["t2"], 50.0),
    ]
    series = await _get(scenario, "series", metric="first_reply", business_hours="true", since=_iso(0))
    assert [(p["value"], p["count"]) for p in series["points"]] == [(40.0, 2), (15.0, 1)]


async def _tables(h: Harness) -> dict[str, list[tuple[Any, ...]]]:
    def read(conn: Any) -> dict[str, list[tuple[Any, ...]]]:
        return {t.name: sorted(tuple(r) for r in conn.execute(select(t))) for t in TABLES}

    tables: dict[str, list[tuple[Any, ...]]] = await h.nixflow.db.read(read)
    return tables


async def test_rebuilt_tables_equal_the_live_ones(scenario: dict[str, Any]) -> None:
    h = scenario["h"]
    live = await _tables(h)
    assert len(live["report_tickets"]) == 4 and len(live["report_spells"]) == 5 and len(live["report_sla"]) == 7
    await _figures_agree_with_the_facts(scenario)
    applied = await h.write(lambda tx: rebuild(tx.conn))
    assert applied > 20
    assert await _tables(h) == live  # report_days too: the per-day counters rebuilt equal those kept live
    before = await _get(scenario, "summary")
    await h.write(lambda tx: [tx.conn.execute(t.delete()) for t in TABLES])  # lost: the figures go wrong...
    assert (await _get(scenario, "summary"))["tickets_created"] == 0
    await h.write(lambda tx: rebuild(tx.conn))  # ...and come back from the log alone
    assert await _tables(h) == live and await _get(scenario, "summary") == before


async def _figures_agree_with_the_facts(world: dict[str, Any]) -> None:
    """The summary from the per-day counters equals the fold of the facts, for periods with and without partial
    days and for each scope the counters key (the scenario has reassignments, a reopen and SLA breaches)."""
    minutes = [None, 5, 260, 1441]  # midnight is at 900: partial days on both sides, a whole day before 3000
    periods = [(T0 + timedelta(minutes=a) if a is not None else None, T0 + timedelta(minutes=b)) for a in minutes
               for b in (261, 1440, 1500, 3000) if a is None or a < b]  # fmt: skip
    scopes = [{}, {"category_id": world["hardware"]}, {"agent_id": world["b"].id}, {"priority": "normal"}]

    def both(conn: Any) -> list[tuple[Any, Any]]:
        pairs = []
        for since, until in periods:
            for keys in scopes:
                scope = Scope(until=until, since=since, **keys)
                pairs.append((figures.summary(conn, scope, calendar_minutes), summary(conn, scope, calendar_minutes)))
        return pairs

    for counted, folded in await world["h"].nixflow.db.read(both):
        assert counted == folded


async def test_the_reports_page_its_charts_and_drilldown(scenario: dict[str, Any]) -> None:
    h, ids = scenario["h"], scenario["ids"]
    cookie = {"Cookie": f"nixflow_session={scenario['agent'].token}"}
    page = await h.client.get("/reports?since=2030-01-07&until=2030-01-07", headers=cookie)
    assert page.status_code == 200, page.text
    assert '<tr data-metric="tickets_created"><th scope="row"><a href="/reports/tickets?' in page.text
    figures = dict(re.findall(r'data-metric="(\w+)">.*?<td>([^<]*)</td>', page.text))
    assert figures["tickets_created"] == "3" and figures["backlog"] == "1"  # at the end of the 7th: t3
    assert figures["first_reply"] == "median 45 min, p90 60 min (2)" and figures["reopens"] == "1"
    assert figures["sla_first_response"] == "66.7 %"
    chart = await h.client.get("/reports/charts/created-solved.svg?since=2030-01-07&until=2030-01-08", headers=cookie)
    assert chart.headers["content-type"] == "image/svg+xml" and b"tickets created" in chart.content
    drill = await h.client.get("/reports/tickets?metric=resolution&since=2030-01-07&until=2030-01-07", headers=cookie)
    assert f'<a href="/tickets/{ids["t1"]}">Question t1</a>' in drill.text and ">390<" in drill.text
    for edge in ("since=0001-01-01&until=0001-01-02", "until=9999-12-31", "until=0001-01-03"):
        assert (await h.client.get(f"/reports?{edge}", headers=cookie)).status_code == 200, edge
        assert (await h.client.get(f"/reports/charts/backlog.svg?{edge}", headers=cookie)).status_code == 200, edge
    await h.client.patch("/api/auth/me", json={"locale": "de"}, headers=scenario["agent"].headers)
    german = await h.client.get("/reports?since=2030-01-07&until=2030-01-07", headers=cookie)
    german_figures = dict(re.findall(r'data-metric="(\w+)">.*?<td>([^<]*)</td>', german.text))
    assert german_figures["sla_first_response"] == "66,7 %"  # the language's decimal sign
    refused = await h.client.get("/reports", headers={"Cookie": f"nixflow_session={scenario['requester'].token}"})
    assert refused.status_code == 403


async def test_nixflow_reports_rebuild_from_the_shell(
    scenario: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    h = scenario["h"]
    live = await _tables(h)
    await h.write(lambda tx: [tx.conn.execute(t.delete()) for t in TABLES])
    env = {"NIXFLOW_DATABASE_URL": settings.database_url, "NIXFLOW_SECRET_KEY": "test-secret-key"}
    done = await asyncio.to_thread(run_cli, tmp_path, "reports", "rebuild", env=env)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"rebuilt the report tables from \d+ events\n", done.stdout)
    assert await _tables(h) == live


async def test_a_rebuild_never_loses_the_history_retention_removed(
    scenario: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    h = scenario["h"]
    live, before = await _tables(h), await _get(scenario, "summary")
    removed = await h.write(lambda tx: event_log.cleanup(tx.conn, older_than=DAY))  # the first day: t1, t2, t3
    assert removed > 20
    env = {"NIXFLOW_DATABASE_URL": settings.database_url, "NIXFLOW_SECRET_KEY": "test-secret-key"}
    refused = await asyncio.to_thread(run_cli, tmp_path, "reports", "rebuild", env=env)
    assert refused.returncode == 1, refused.stdout
    assert "refused: the event log no longer holds the history of 3 ticket(s) the reports count" in refused.stderr
    with pytest.raises(HistoryLost):
        await h.write(lambda tx: rebuild(tx.conn))
    assert await _tables(h) == live and await _get(scenario, "summary") == before  # nothing was dropped
