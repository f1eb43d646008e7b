"""The OpenAPI schema is a product: it validates as OpenAPI 3.1, says what the server does (405 `Allow`, links),
and a client generated from it works against a real server."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from tests.conftest import PASSWORD, Harness, User
from tests.security.serving import cli, embedded_env, serve

pytestmark = pytest.mark.slow


async def test_the_schema_validates_as_openapi_3_1(harness: Harness) -> None:
    schema = (await harness.client.get("/openapi.json")).json()
    assert schema["openapi"].startswith("3.1")
    validate(schema)


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/tickets", {"GET", "POST"}),
        ("/api/rules/1", {"GET", "PATCH", "DELETE"}),
        ("/api/tickets/1/comments", {"GET", "POST"}),
        ("/api/users/1", {"GET", "PATCH"}),
        ("/api/round-robin/counters", {"GET", "DELETE"}),
    ],
)
async def test_405_allows_every_method_of_the_path(harness: Harness, admin: User, path: str, methods: set[str]) -> None:
    response = await harness.client.request("OPTIONS", path, headers=admin.headers)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == methods
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_creating_operations_link_to_the_operations_that_take_their_ids(harness: Harness) -> None:
    schema = (await harness.client.get("/openapi.json")).json()
    by_id = {op["operationId"]: (method, path) for path, ops in schema["paths"].items() for method, op in ops.items()}

    def targets(method: str, path: str) -> set[tuple[str, str]]:
        links = schema["paths"][path][method]["responses"]["201"]["links"]
        assert all(list(link["parameters"].values()) == ["$response.body#/id"] for link in links.values())
        return {by_id[link["operationId"]] for link in links.values()}

    assert {("post", "/api/tickets/{ticket_id}/comments"), ("post", "/api/tickets/{ticket_id}/approve"),
            ("patch", "/api/tickets/{ticket_id}"), ("get", "/api/tickets/{ticket_id}/events")} <= targets(
        "post", "/api/tickets")  # fmt: skip
    assert targets("post", "/api/users") == {("get", "/api/users/{user_id}"), ("patch", "/api/users/{user_id}")}
    assert targets("post", "/api/rules") == {
        ("get", "/api/rules/{rule_id}"),
        ("patch", "/api/rules/{rule_id}"),
        ("delete", "/api/rules/{rule_id}"),
    }


def _generate_client(schema: dict[str, Any], into: Path) -> Any:
    """`openapi-python-client` run on the schema, the package it generated imported."""
    (into / "openapi.json").write_text(httpx.Response(200, json=schema).text)
    (into / "config.yml").write_text("post_hooks: []\nproject_name_override: nixflow_client\n")
    done = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", "openapi.json", "--meta", "none",
         "--output-path", "nixflow_client", "--config", "config.yml"],
        cwd=into, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout, done.stdout  # every operation and model was generated
    sys.path.insert(0, str(into))
    try:
        return importlib.import_module("nixflow_client")
    finally:
        sys.path.remove(str(into))


def test_a_generated_client_signs_in_opens_a_ticket_comments_and_reads_its_events(tmp_path: Path) -> None:
    env = embedded_env(tmp_path)
    cli(tmp_path, env, "db", "upgrade")
    cli(tmp_path, env, "users", "create", "--email", "agent@example.com", "--name", "Agent", "--role", "agent",
        "--password", PASSWORD)  # fmt: skip
    with serve(tmp_path, env) as (base, _log):
        package = _generate_client(httpx.get(f"{base}/openapi.json", timeout=10).json(), tmp_path)
        api = importlib.import_module("nixflow_client.api.auth.login_api_auth_login_post")
        tickets = importlib.import_module("nixflow_client.api.tickets.create_ticket_api_tickets_post")
        comments = importlib.import_module("nixflow_client.api.tickets.add_comment_api_tickets_ticket_id_comments_post")
        timeline = importlib.import_module("nixflow_client.api.tickets.timeline_api_tickets_ticket_id_events_get")
        models = importlib.import_module("nixflow_client.models")

        anonymous = package.Client(base_url=base)
        signed_in = api.sync(client=anonymous, body=models.LoginRequest(email="agent@example.com", password=PASSWORD))
        assert isinstance(signed_in, models.LoginResponse), signed_in
        assert signed_in.user.email == "agent@example.com"
        client = package.AuthenticatedClient(base_url=base, token=signed_in.token)

        ticket = tickets.sync(client=client, body=models.TicketCreate(title="Core switch is down", description="x"))
        assert isinstance(ticket, models.TicketRead), ticket
        comment = comments.sync(ticket.id, client=client, body=models.CommentCreate(body="On it"))
        assert isinstance(comment, models.CommentRead) and comment.ticket_id == ticket.id
        events = timeline.sync(ticket.id, client=client)
        assert isinstance(events, list) and all(isinstance(e, models.EventRead) for e in events)
        assert {"ticket.created", "ticket.commented"} <= {e.type_ for e in events}
        bad = tickets.sync_detailed(client=client, body=models.TicketCreate(title="   "))
        assert bad.status_code == 422 and isinstance(bad.parsed, models.Problem)
