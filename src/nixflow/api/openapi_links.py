"""OpenAPI links: from the operations that create a resource to those that take its id, so clients (and
stateful testing) can follow create → read → change → comment → approve."""

from __future__ import annotations

from typing import Any

# (method, path that creates, status) → (the id in the created body, the operations that take it as `param`)
LINKS: dict[tuple[str, str, str], tuple[str, str, list[tuple[str, str]]]] = {
    ("post", "/api/tickets", "201"): (
        "id",
        "ticket_id",
        [
            ("get", "/api/tickets/{ticket_id}"),
            ("patch", "/api/tickets/{ticket_id}"),
            ("post", "/api/tickets/{ticket_id}/transition"),
            ("post", "/api/tickets/{ticket_id}/update"),
            ("post", "/api/tickets/{ticket_id}/comments"),
            ("get", "/api/tickets/{ticket_id}/comments"),
            ("post", "/api/tickets/{ticket_id}/approve"),
            ("post", "/api/tickets/{ticket_id}/reject"),
            ("get", "/api/tickets/{ticket_id}/events"),
            ("post", "/api/tickets/{ticket_id}/attachments"),
            ("get", "/api/tickets/{ticket_id}/attachments"),
        ],
    ),
    ("post", "/api/tickets/{ticket_id}/attachments", "201"): (
        "id",
        "attachment_id",
        [("get", "/api/attachments/{attachment_id}")],
    ),
    ("post", "/api/users", "201"): (
        "id",
        "user_id",
        [("get", "/api/users/{user_id}"), ("patch", "/api/users/{user_id}")],
    ),
    ("post", "/api/rules", "201"): (
        "id",
        "rule_id",
        [("get", "/api/rules/{rule_id}"), ("patch", "/api/rules/{rule_id}"), ("delete", "/api/rules/{rule_id}")],
    ),
    ("post", "/api/kb/articles", "201"): (
        "id",
        "article_id",
        [
            ("get", "/api/kb/articles/{article_id}"),
            ("patch", "/api/kb/articles/{article_id}"),
            ("get", "/api/kb/articles/{article_id}/versions"),
            ("post", "/api/kb/articles/{article_id}/feedback"),
            ("delete", "/api/kb/articles/{article_id}"),
        ],
    ),
    ("post", "/api/categories", "201"): ("id", "category_id", [("patch", "/api/categories/{category_id}")]),
    ("post", "/api/webhooks", "201"): (
        "id",
        "webhook_id",
        [
            ("get", "/api/webhooks/{webhook_id}"),
            ("patch", "/api/webhooks/{webhook_id}"),
            ("post", "/api/webhooks/{webhook_id}/rotate-secret"),
            ("get", "/api/webhooks/{webhook_id}/deliveries"),
            ("post", "/api/webhooks/{webhook_id}/replay"),
            ("delete", "/api/webhooks/{webhook_id}"),
        ],
    ),
}
# A ticket's current version, for the calls that check it: following the link sends an up-to-date change.
VERSIONED = {("patch", "/api/tickets/{ticket_id}")}


def _name(method: str, path: str) -> str:
    words = [w.strip("{}") for w in path.removeprefix("/api/").split("/")]
    return "".join(w.title().replace("_", "") for w in [method, *words])


def add_links(schema: dict[str, Any]) -> None:
    """Add the links of `LINKS` to the responses of the creating operations in a generated schema."""
    paths = schema.get("paths", {})
    for (method, path, status), (field, param, targets) in LINKS.items():
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        links = response.setdefault("links", {})
        for target_method, target_path in targets:
            target = paths.get(target_path, {}).get(target_method)
            if target is None or "operationId" not in target:
                continue
            link: dict[str, Any] = {
                "operationId": target["operationId"],
                "parameters": {f"path.{param}": f"$response.body#/{field}"},
            }
            if (target_method, target_path) in VERSIONED:
                link["requestBody"] = {"version": "$response.body#/version"}
            links[_name(target_method, target_path)] = link
