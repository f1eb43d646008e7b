"""`scripts/i18n.py lint`: English a reader sees outside the catalogue is found, with its line; wrapped text is not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "i18n.py"

TEMPLATE = """{% extends "base.html" %}
{% block page %}account{% endblock %}
<p>{{ _("Saved") }} <a href="/x" title="{{ _('Open it') }}">{{ name }}</a></p>
<p>{% trans trimmed %}Hello
{{ name }}{% endtrans %}</p>
<button>Save</button>
<input placeholder="e.g. Work laptop">
{{ "Signed in" if on else _("API token") }}
"""

SCRIPT_SOURCE = """import { t } from "./i18n.js";
status.textContent = t("Saved");
status.textContent = "Saved";
el("button", { type: "button" }, "Remove");
el("button", { type: "button" }, t("Remove"));
"""


def _lint(path: Path) -> tuple[int, list[str]]:
    done = subprocess.run([sys.executable, str(SCRIPT), "lint", str(path)], capture_output=True, text=True)
    return done.returncode, [line for line in done.stdout.splitlines() if "English outside" in line]


def test_template_english_is_found_by_line(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(TEMPLATE, encoding="utf-8")
    status, found = _lint(page)
    assert status == 1
    assert [line.split(":")[1] for line in found] == ["6", "7", "8"]


def test_script_english_is_found_by_line(tmp_path: Path) -> None:
    script = tmp_path / "page.js"
    script.write_text(SCRIPT_SOURCE, encoding="utf-8")
    status, found = _lint(script)
    assert status == 1
    assert [line.split(":")[1] for line in found] == ["3", "4"]


def test_the_translated_files_are_clean() -> None:
    root = SCRIPT.parents[1] / "src" / "nixflow"
    status, found = _lint(root / "notifications" / "templates")
    assert (status, found) == (0, [])
