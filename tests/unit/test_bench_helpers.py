"""The benchmark runner's pure helpers: reading wrk's result line, percentiles, the targets checklist."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from bench import profile
from bench.results import DJANGO_C32, NAIVE_C32, NAIVE_C32_P99, TARGETS, Results, check, markdown_table, percentile
from bench.wrk import parse_wrk_result

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8000/api/tickets
  1 threads and 32 connections
  2400 requests in 10.00s, 1.2MB read
WRK_RESULT requests=2400 duration_us=10000000 http4xx5xx=400 sockerr=3 """ + (
    "p50_ms=12.500 p90_ms=30.000 p99_ms=48.250 max_ms=90.000\n"
)


def test_wrk_result_counts_only_successful_responses() -> None:
    result = parse_wrk_result(WRK_OUTPUT)
    assert result.ok_per_s == 200.0
    assert (result.p50_ms, result.p99_ms) == (12.5, 48.25)
    assert "400 HTTP 4xx/5xx" in result.note and "3 socket errors" in result.note


def test_wrk_output_without_result_line_is_an_error_naming_the_last_line() -> None:
    with pytest.raises(RuntimeError, match="unable to connect"):
        parse_wrk_result("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_percentile_is_nearest_rank() -> None:
    samples = [float(v) for v in range(1, 101)]
    assert percentile(samples, 50) == 50.0
    assert percentile(samples, 99) == 99.0
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))


def test_a_target_relative_to_the_peer_is_judged_against_the_peer_figure() -> None:
    target = next(t for t in TARGETS if t.key == "nf.automated")
    results = Results()
    results.add(DJANGO_C32, "django-helpdesk", "req/s", 80.0, group="peer")
    results.add("nf.automated", "automated", "tickets/s", 790.0)
    assert check(results, target)[0] == "missed"
    results.add("nf.automated", "automated", "tickets/s", 800.0)
    assert check(results, target)[0] == "met"
    assert check(Results(), target)[0] == "not measured"


def test_the_post_tail_is_judged_against_the_naive_apps_p99_of_the_same_run() -> None:
    target = next(t for t in TARGETS if t.times == NAIVE_C32_P99)
    results = Results()
    results.add(NAIVE_C32_P99, "naive p99", "ms", 91.0, group="peer")
    results.add("nf.post32.p99", "POST p99", "ms", 139.0)
    assert check(results, target) == ("missed", "139 ms (bound <= 91.0)")
    results.add("nf.post32.p99", "POST p99", "ms", 90.0)
    assert check(results, target)[0] == "met"


def test_a_figure_is_shown_beside_the_naive_app_with_the_ratio() -> None:
    results = Results()
    results.add(NAIVE_C32, "naive", "req/s", 500.0, group="peer")
    results.add("nf.automated", "automated", "tickets/s", 400.0, naive=NAIVE_C32)
    results.add("nf.health", "health", "req/s", 900.0)
    rows = markdown_table(results).splitlines()
    assert len(rows) == 4  # the header, its rule, and one row per NixFlow figure (the peer is not one)
    assert "| automated | 400 | tickets/s | - | - | 500 req/s | 0.80x |" in rows[2]
    assert "| health | 900 | req/s | - | - | - | - |" in rows[3]


def test_a_profile_counts_busy_samples_by_where_they_were(tmp_path: Path) -> None:
    raw = tmp_path / "p.raw"
    writer = "Thread.run (threading.py:975);SerialWriter._loop (nixflow/store/writer.py:120)"
    raw.write_text(
        "\n".join(
            [
                f"{writer};Queue.get (queue.py:171);Condition.wait (threading.py:320) 50",  # idle: left out
                f"{writer};Dispatcher._run_handlers (d.py:1);RuleEngine.handle (e.py:2);do_execute (x.py:3) 30",
                f"{writer};Dispatcher._run_handlers (d.py:1);project (projection.py:9) 10",
                f"{writer};append_many (event_log.py:5);Fast._run (fast.py:8) 20",
                "run (runners.py:1);FastAPI.__call__ (applications.py:1);solve_dependencies (utils.py:671) 40",
                "_worker (thread.py:1);Connection.wait (/venv/site-packages/psycopg/connection.py:479) 25",
            ]
        )
    )
    summary = profile.summarise(raw)
    assert (summary.busy, summary.idle) == (125, 50)
    assert dict(summary.shares) == {
        "event loop: HTTP, routing, validation, auth": 32.0,
        "writer: automation rules (handler)": 24.0,
        "waiting for PostgreSQL's reply (a writer thread)": 20.0,
        "writer: events to the log": 16.0,
        "writer: report projection (handler)": 8.0,
    }
    assert summary.driver == 40.0 and summary.sqlalchemy == 0.0
    assert summary.top[0] == ("solve_dependencies (utils.py)", 32.0)
    assert "| writer: events to the log | 16.0 % |" in profile.markdown("t", summary)
