"""The visual rule builder in Chromium: every rule shape the tests use (and one per field, operator and action the
vocabulary offers) loads into the builder and reads back as the same JSON, byte for byte; a rule it cannot show
stays JSON with a notice; and an admin builds "priority is high and tag is vpn → Network" without typing JSON and
sees which of last week's tickets it would have caught."""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from pydantic import ValidationError

from nixflow.domain.rules import RuleCreate, actions_json, conditions_json
from tests.e2e.conftest import Account, Server, shoot, signed_in

pytestmark = pytest.mark.browser
TESTS = Path(__file__).resolve().parents[1]


def _literal(node: ast.AST) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def _named_parts(node: ast.AST) -> list[tuple[Any, ast.AST]]:
    """A dict literal's items, or a call's keyword arguments (`_rule(h, admin, conditions=...)`)."""
    if isinstance(node, ast.Dict):
        return [(_literal(k) if k is not None else None, v) for k, v in zip(node.keys, node.values, strict=True)]
    if isinstance(node, ast.Call):
        return [(k.arg, k.value) for k in node.keywords]
    return []


def _shapes_in_tests() -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Every literal rule (conditions and actions) in the test suite, in the form the API stores it."""
    found: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    sources = (path.read_text() for path in sorted(TESTS.rglob("*.py")))
    for source in (s for s in sources if "conditions" in s or "actions" in s):
        for node in ast.walk(ast.parse(source)):
            parts = {k: _literal(v) for k, v in _named_parts(node) if k in ("conditions", "actions")}
            if not parts:
                continue
            conditions, actions = (
                parts.get("conditions") or {},
                parts.get("actions") or [{"type": "notify", "role": "admin"}],
            )
            kind = "escalation" if "escalate" in json.dumps(actions) else "prioritization"
            try:
                spec = RuleCreate.model_validate(
                    {"name": "x", "kind": kind, "conditions": conditions, "actions": actions}
                )
            except ValidationError:
                continue  # a test of what is refused
            stored = (conditions_json(spec.conditions), actions_json(spec.actions))
            found.setdefault(json.dumps(stored), stored)
    return list(found.values())


def _one_of_each(vocabulary: dict[str, Any]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """A condition for every field and operator, an action of every kind, with values from the server's lists."""
    picks = {name: [c["value"] for c in listed] for name, listed in vocabulary["choices"].items()}
    samples = {"text": "vpn", "tag": "vpn", "id": 7, "number": 30, "custom": "T14"}
    conditions = []
    for field in vocabulary["fields"]:
        one = (
            field["values"][-1]
            if field["values"]
            else picks[field["choices"]][0]
            if field["choices"]
            else samples[field["type"]]
        )
        keyed = {"key": "laptop_model"} if field["keyed"] else {}
        for op in field["operators"]:
            value = {"flag": False, "number": 30, "list": [one], "words": ["vpn", "tunnel"], "one": one}[op["value"]]
            conditions.append({"field": field["name"], **keyed, "op": op["name"], "value": value})
    params = {
        "integer": 2,
        "tag": "vpn",
        "template": "Hi {{ requester.name }}",
        "field_key": "laptop_model",
        "custom": "X1",
    }
    actions = [
        {"type": a["type"], **{p["name"]: params[p["type"]] if p["type"] in params
                               else p["values"][0] if p["type"] == "enum" else picks[p["choices"]][0]
                               for p in a["params"]}}
        for a in vocabulary["actions"]
    ]  # fmt: skip
    return [({"all": conditions[:25]}, actions), ({"any": conditions[25:]}, [{"type": "escalate", "level": 1}])]


ROUND_TRIP = """async () => {
  const rules = await (await fetch("/api/rules")).json();
  const mismatched = [];
  for (const rule of rules) {
    document.querySelector(`#rules tr[data-rule-id="${rule.id}"] button`).click();
    const exact = document.getElementById("tab-builder").getAttribute("aria-selected") === "true";
    document.getElementById("tab-json").click();  // writes what the builder would save
    const read = [document.getElementById("r-conditions").value, document.getElementById("r-actions").value];
    const want = [JSON.stringify(rule.conditions, null, 2), JSON.stringify(rule.actions, null, 2)];
    if (!exact || read[0] !== want[0] || read[1] !== want[1]) mismatched.push({ name: rule.name, exact, read, want });
    document.getElementById("tab-builder").click();
  }
  return { count: rules.length, mismatched };
}"""


def _fixtures(server: Server, admin: Account, agent: Account) -> int:
    """What the lists offer: a category (its id), an organization, a custom field, a shared macro, a workflow."""
    network = server.call("POST", "/api/categories", admin, json={"name": "Network", "agent_ids": [agent.id]})
    server.call("POST", "/api/organizations", admin, json={"name": "Acme"})
    field = {"key": "laptop_model", "label": "Laptop", "type": "select", "options": ["X1", "T14"]}
    server.call("POST", "/api/fields", admin, json=field)
    macro = {"name": "Escalate to L2", "scope": "everyone", "actions": {"priority": "high"}}
    server.call("POST", "/api/macros", admin, json=macro)
    step = {"name": "Network lead", "approvers": {"kind": "users", "user_ids": [agent.id]}}
    server.call("POST", "/api/workflows", admin, json={"name": "Change approval", "steps": [step]})
    return int(network["id"])


# One browser test for the page (CI budget): the "Done when" flow, then the round trip of every rule shape.
async def test_an_admin_builds_a_rule_without_json_and_every_rule_reads_back_unchanged(
    server: Server, browser: Browser
) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    nora = server.account(admin, "agent", "Nora Network")
    network = _fixtures(server, admin, nora)
    page = await signed_in(browser, server, admin, "/admin/rules")
    # The page was opened ten minutes ago (its clock set back, then moved on below) ...
    await page.clock.install(time=datetime.now(UTC) - timedelta(minutes=10))
    await page.reload()
    await _build_the_vpn_rule(page, server, admin, nora, network)

    vocabulary = server.call("GET", "/api/rules/vocabulary", admin)
    shapes = _shapes_in_tests() + _one_of_each(vocabulary)
    created = 0
    for index, (conditions, actions) in enumerate(shapes):
        kind = "escalation" if any(a["type"] == "escalate" for a in actions) else "prioritization"
        body = {"name": f"shape {index}", "kind": kind, "active": False, "conditions": conditions, "actions": actions}
        response = httpx.post(server.url + "/api/rules", json=body, headers=admin.headers, timeout=10)  # noqa: ASYNC210
        created += response.status_code == 201
    assert created >= len(shapes) - 5 and created > 25, (created, len(shapes))  # a few name a missing macro
    comma = {"all": [{"field": "title", "op": "in", "value": ["VPN, remote"]}]}
    low = [{"type": "set_priority", "value": "low"}]
    body = {
        "name": "a comma in a value",
        "kind": "prioritization",
        "active": False,
        "conditions": comma,
        "actions": low,
    }
    unshown = server.call("POST", "/api/rules", admin, json=body)

    await page.reload()
    await expect(page.locator(f'#rules tr[data-rule-id="{unshown["id"]}"]')).to_be_visible()
    result = await page.evaluate(ROUND_TRIP)
    assert result["count"] >= created + 12, result["count"]  # the defaults and the rule built above too
    assert [m["name"] for m in result["mismatched"]] == [unshown["name"]], result["mismatched"]

    await _save_unchanged(page, server, admin, unshown["id"], builder=False)
    richest = max(server.call("GET", "/api/rules", admin), key=lambda r: len(json.dumps(r["conditions"])))
    await _save_unchanged(page, server, admin, richest["id"], builder=True)


async def _save_unchanged(page: Page, server: Server, admin: Account, rule_id: int, *, builder: bool) -> None:
    """Edit the rule, save it untouched: what is sent, and what is stored after, is the JSON it had."""
    before = server.call("GET", f"/api/rules/{rule_id}", admin)
    await page.locator(f'#rules tr[data-rule-id="{rule_id}"]').get_by_role("button", name="Edit").click()
    await expect(page.get_by_role("tab", name="Builder")).to_have_attribute("aria-selected", str(builder).lower())
    notice = page.locator("#builder-notice")
    if builder:
        await expect(notice).to_be_hidden()
    else:
        await expect(notice).to_contain_text("cannot show this rule exactly")
    async with page.expect_request(lambda r: r.method == "PATCH") as sent:
        await page.get_by_role("button", name="Save rule").click()
    body = json.loads((await sent.value).post_data or "{}")
    after = server.call("GET", f"/api/rules/{rule_id}", admin)
    for key in ("conditions", "actions"):
        assert json.dumps(body[key]) == json.dumps(before[key]) == json.dumps(after[key])


async def _build_the_vpn_rule(page: Page, server: Server, admin: Account, nora: Account, network: int) -> None:
    """ "Priority is high and tag is vpn: to Network", built without typing JSON, tried on last week's tickets."""
    requester = server.account(admin, "requester", "Rita Requester")
    opened = {}
    for title, priority, tags in (("VPN drops every hour", "high", ["vpn"]), ("VPN is slow", "low", ["vpn"]),
                                  ("Printer on fire", "high", [])):  # fmt: skip
        ticket = server.call("POST", "/api/tickets", requester, json={"title": title, "priority": priority})
        if tags:
            server.call("POST", f"/api/tickets/{ticket['id']}/tags", nora, json={"tags": tags})
        opened[title] = ticket["id"]

    await page.get_by_label("Name", exact=True).fill("high vpn tickets go to Network")
    await page.get_by_label("Kind").select_option("assignment")
    every = page.locator('fieldset[data-group="all"]')
    await every.get_by_role("button", name="Add condition").click()
    first = every.locator("li.rb-row").nth(0)
    await first.get_by_label("Field", exact=True).select_option(label="Priority")
    await first.get_by_label("Operator").select_option(label="is")
    await first.get_by_label("Priority value").select_option(label="high")
    await every.get_by_role("button", name="Add condition").click()
    second = every.locator("li.rb-row").nth(1)
    await second.get_by_label("Field", exact=True).select_option(label="Tag")
    await second.get_by_label("Operator").select_option(label="has")
    await second.get_by_label("Tag value").fill("vpn")
    for kind, choose in (("Set category", ("Category", "Network")), ("Assign round-robin in the category", None)):
        await page.get_by_role("button", name="Add action").click()
        action = page.locator('ol[aria-label="Actions"] li.rb-row').last
        await action.get_by_label("Action").select_option(label=kind)
        if choose:
            await action.get_by_label(choose[0]).select_option(label=choose[1])

    # ... and has been open since: "to" still means now, so the tickets opened meanwhile count.
    await page.clock.fast_forward("10:00")
    await page.get_by_role("button", name="Test against history").click()
    await expect(page.locator("#simulation-summary")).to_contain_text("Would have acted on 1 of 3 tickets evaluated")
    caught = page.locator("#simulation-sample").get_by_role("link", name=f"#{opened['VPN drops every hour']} VPN drops")
    await expect(caught).to_have_attribute("href", f"/tickets/{opened['VPN drops every hour']}")
    await expect(page.locator("#simulation-sample tbody tr")).to_have_count(1)
    await shoot(page, "rule-builder")

    await page.get_by_role("button", name="Create rule").click()
    await expect(page.locator("#rules")).to_contain_text("high vpn tickets go to Network")
    saved = next(r for r in server.call("GET", "/api/rules", admin) if r["name"] == "high vpn tickets go to Network")
    assert json.dumps(saved["conditions"]) == json.dumps(
        {
            "all": [
                {"field": "priority", "op": "equals", "value": "high"},
                {"field": "tag", "op": "equals", "value": "vpn"},
            ]
        }
    )
    assert saved["actions"] == [{"type": "set_category", "category_id": network}, {"type": "assign_round_robin"}]
