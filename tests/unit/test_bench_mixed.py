"""The mixed scenario's pure helpers: the operations handed to mixed.lua and the per-operation samples it writes."""

from __future__ import annotations

import pytest
from bench.mixed import MixedRun, Op, ops_spec, parse_samples
from bench.wrk import parse_wrk_result

MIX = [
    Op("queue", "read", 60, "GET", "/api/tickets?status=open&limit=50"),
    Op("ticket", "read", 10, "GET", "/api/tickets/{ticket}"),
    Op("status", "write", 20, "POST", "/api/tickets/{own}/transition", '{"status": "{status}"}'),
    Op("create", "create", 10, "POST", "/api/tickets", '{"title": "t"}'),
]


def test_samples_are_kept_per_operation_and_errors_apart_with_their_status() -> None:
    ops = parse_samples("queue 12500 200\nqueue 30000 200\nstatus 8000 409\nstatus 9000 200\n\ncreate 40000 500\n")
    assert ops["queue"].latencies_ms == [12.5, 30.0]
    assert (ops["queue"].p50, ops["queue"].p99) == (12.5, 30.0)
    assert (ops["status"].latencies_ms, ops["status"].errors, ops["status"].statuses) == ([9.0], 1, {409: 1})
    assert ops["create"].latencies_ms == [] and ops["create"].statuses == {500: 1}


def test_a_malformed_samples_line_is_an_error_naming_its_number() -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_samples("queue 1000 200\nqueue fast 200\n")


def test_the_reads_of_a_run_are_pooled_across_their_operations() -> None:
    wrk = parse_wrk_result(
        "WRK_RESULT requests=5 duration_us=1000000 http4xx5xx=0 sockerr=0 p50_ms=1 p90_ms=1 p99_ms=1 max_ms=1\n"
    )
    run = MixedRun(wrk, parse_samples("queue 1000 200\nticket 3000 200\nstatus 2000 200\nqueue 5000 404\n"))
    assert sorted(run.kind_samples(MIX, "read")) == [1.0, 3.0]
    assert run.kind_samples(MIX, "create") == []


def test_the_operations_go_to_the_script_one_a_line() -> None:
    lines = ops_spec(MIX).split("\n")
    assert lines[2] == 'status\t20\tPOST\t/api/tickets/{own}/transition\t{"status": "{status}"}'
    assert lines[0].endswith("\t")  # a GET: empty body


@pytest.mark.parametrize(
    "mix",
    [
        MIX[:3],  # weights sum to 90
        [*MIX[:3], Op("create", "create", 10, "POST", "/api/tickets", '{"title":\t"t"}')],
        [Op("two words", "read", 100, "GET", "/")],
    ],
)
def test_a_mix_the_script_would_misread_is_refused(mix: list[Op]) -> None:
    with pytest.raises(ValueError):
        ops_spec(mix)
