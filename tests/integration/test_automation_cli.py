"""`nixflow rules ...` and `nixflow round-robin ...`, run as an operator would."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_helpers import run_cli


def test_rules_list_show_enable_disable(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "db", "upgrade").returncode == 0
    listing = run_cli(tmp_path, "rules", "list")
    assert listing.returncode == 0, listing.stderr
    line = next(row for row in listing.stdout.splitlines() if "outage or down is critical" in row)
    rule_id = line.split()[0]
    shown = run_cli(tmp_path, "rules", "show", rule_id)
    assert json.loads(shown.stdout)["actions"] == [{"type": "set_priority", "value": "critical"}]
    disabled = run_cli(tmp_path, "rules", "disable", rule_id)
    assert disabled.returncode == 0 and "disabled" in disabled.stdout
    assert json.loads(run_cli(tmp_path, "rules", "show", rule_id).stdout)["active"] is False
    assert run_cli(tmp_path, "rules", "enable", rule_id).returncode == 0
    assert json.loads(run_cli(tmp_path, "rules", "show", rule_id).stdout)["active"] is True
    missing = run_cli(tmp_path, "rules", "show", "999")
    assert missing.returncode == 1 and "rule 999 not found" in missing.stderr


def test_round_robin_counters_and_reset(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "db", "upgrade").returncode == 0
    counters = run_cli(tmp_path, "round-robin", "counters")
    assert counters.returncode == 0 and "key" in counters.stdout
    reset = run_cli(tmp_path, "round-robin", "reset")
    assert reset.returncode == 0 and "0 counter(s) reset" in reset.stdout
    unknown = run_cli(tmp_path, "round-robin", "reset", "category:42")
    assert unknown.returncode == 1 and "no round-robin counter" in unknown.stderr
