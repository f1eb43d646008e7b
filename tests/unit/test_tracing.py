"""Trace ids derived from the log's ids, the setting that turns tracing on, and a core install that never imports
OpenTelemetry."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from nixflow.config import ConfigError, load_settings
from nixflow.observe import tracing


def test_the_trace_id_is_the_correlation_ids_128_bits() -> None:
    correlation = "01a250e5-2ae4-7064-9ce7-7e3e5049a48e"
    assert tracing.trace_id(correlation) == uuid.UUID(correlation).int
    assert f"{tracing.trace_id(correlation):032x}" == correlation.replace("-", "")


def test_a_correlation_that_is_no_uuid_still_names_one_trace() -> None:
    assert tracing.trace_id("timers") == tracing.trace_id("timers") != tracing.trace_id("notifications")
    assert 0 < tracing.trace_id("timers") < 2**128
    assert tracing.trace_id("00000000-0000-0000-0000-000000000000") != 0  # the nil UUID is no valid trace id


def test_a_periodic_jobs_units_start_traces_of_their_own() -> None:
    correlation = "01a250e5-2ae4-7064-9ce7-7e3e5049a48e"
    assert tracing.unit_trace_id(correlation) == tracing.trace_id(correlation)
    assert tracing.unit_trace_id("timers") is None  # not one trace of every tick since the process started


def test_an_events_span_id_is_derived_from_its_event_id() -> None:
    first, second = tracing.event_span_id("01a250e5-aaaa"), tracing.event_span_id("01a250e5-aaab")
    assert first == tracing.event_span_id("01a250e5-aaaa") != second
    assert 0 < first < 2**64


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("NIXFLOW_OTEL_ENDPOINT", "ftp://collector:4318"),
        ("NIXFLOW_OTEL_ENDPOINT", "collector:4318"),
        ("NIXFLOW_OTEL_ENDPOINT", "http://collector:99999"),
        ("NIXFLOW_OTEL_SAMPLE_RATE", "1.5"),
        ("NIXFLOW_OTEL_SAMPLE_RATE", "some"),
    ],
)
def test_a_bad_tracing_setting_names_its_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        load_settings(_env_file=None)


def test_without_an_endpoint_nothing_is_traced_and_the_backend_is_not_imported() -> None:
    # FastAPI and redis-py import parts of OpenTelemetry where it is installed; the trace SDK and the OTLP
    # exporter come only with NixFlow's backend, imported by the CLI when NIXFLOW_OTEL_ENDPOINT is set.
    assert load_settings(_env_file=None).otel_endpoint is None
    assert not tracing.enabled() and tracing.current() is None
    program = (
        "import sys; from nixflow.cli import cli; from nixflow.app import create_app; from nixflow.config import "
        "Settings; create_app(Settings(_env_file=None)); "
        "print(sorted(m for m in sys.modules if m.startswith(BACKEND)))"
    ).replace("BACKEND", repr(("nixflow.observe.otel", "opentelemetry.sdk.trace", "opentelemetry.exporter")))
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"
