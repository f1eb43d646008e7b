"""deploy/prometheus/alerts.yaml is valid YAML in Prometheus's rule-file shape, and it and the Grafana dashboard
(deploy/grafana/nixflow.json) query only metrics NixFlow exposes."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

from nixflow.api import metrics as scrape_time
from nixflow.observe import metrics  # noqa: F401 - defines the process metrics in REGISTRY

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "alerts.yaml"
DASHBOARD = DEPLOY / "grafana" / "nixflow.json"


def exposed_names() -> set[str]:
    """Every sample name NixFlow can expose: the process metrics and the scrape-time gauges."""
    names = {sample_name for family in REGISTRY.collect() for sample_name in _sample_names(family.name, family.type)}
    names |= set(re.findall(r'"(nixflow_[a-z_]+)"', inspect.getsource(scrape_time)))
    return names


def _sample_names(name: str, kind: str) -> list[str]:
    if kind == "counter":
        return [f"{name}_total"]
    if kind == "histogram":
        return [f"{name}_bucket", f"{name}_count", f"{name}_sum"]
    return [name]


def test_alert_rules_parse_and_name_only_exposed_metrics() -> None:
    document = yaml.safe_load(RULES.read_text())
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    assert {"NixFlowConsumerLagGrowing", "NixFlowDeadLetters", "NixFlowSlaTickLate", "NixFlowMailQuarantined"} <= {
        rule["alert"] for rule in rules
    }
    known = exposed_names()
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert isinstance(rule["expr"], str) and rule["expr"].strip(), rule
        assert not unknown_metrics(rule["expr"], known), rule["alert"]


def unknown_metrics(expr: str, known: set[str]) -> set[str]:
    return set(re.findall(r"\bnixflow_[a-z_]+", expr)) - known


def test_every_dashboard_panel_queries_exposed_metrics() -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    known = exposed_names()
    exprs = [target["expr"] for panel in panels for target in panel["targets"]]
    assert len(exprs) >= 15 and all("nixflow_" in expr for expr in exprs)
    assert not {name for expr in exprs for name in unknown_metrics(expr, known)}
