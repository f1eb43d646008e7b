"""The OpenAPI schema tells the truth about errors: every 4xx is application/problem+json."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from nixflow.api.openapi_links import add_links

PUBLIC = {"/api/health", "/api/auth/login", "/api/auth/password-reset", "/api/auth/password-reset/confirm"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
DESCRIPTIONS = {
    "400": "Bad request",
    "401": "No valid credential",
    "403": "Not allowed for this role, or a cookie request without its X-CSRF-Token",
    "404": "Not found (also another requester's ticket)",
    "409": "Conflict: illegal transition or stale version",
    "413": "Request body too large",
    "415": "Body is not JSON",
    "422": "Validation failed",
    "429": "Too many attempts; see Retry-After",
    "503": "A server it needs cannot be reached (at sign-in: an LDAP directory)",
}


KB_READS = ("/api/kb/suggest", "/api/kb/articles/{article_id}")  # views and suggestions: a rate per client
WATCHERS = "/api/tickets/{ticket_id}/watchers"  # a requester's CCs: a rate per requester
SURVEY_LINK = ("/api/csat/survey", "/api/csat/answer")  # public: the survey link's token is the credential
# Codes of a second factor: JSON only, under the sign-in limits (429); 401 is also a wrong code at sign-in
MFA_CODES = tuple(f"/api/auth/mfa/{p}" for p in ("verify", "totp/confirm", "totp/disable", "recovery-codes"))


def _codes(path: str) -> list[str]:
    if path == "/api/auth/login":  # 403: the role's local passwords are off; 503: a directory is down
        return ["400", "401", "403", "413", "415", "422", "429", "503"]
    if path == "/api/auth/passkeys/login":  # public, JSON only: 401 for every refused assertion
        return ["400", "401", "413", "415", "422"]
    if path == "/api/auth/password-reset":
        return ["400", "413", "415", "422", "429"]
    if path == "/api/auth/password-reset/confirm":  # 400: the token is unknown, expired, used or replaced
        return ["400", "413", "415", "422"]
    if path in PUBLIC:
        return ["400", "413", "422"]
    if path in SURVEY_LINK:  # the signed link is the credential: 400 bad or expired; an answer also 403 and 409
        return ["400", "413", "415", "422"] if path.endswith("/survey") else ["400", "403", "409", "413", "415", "422"]
    if path.startswith("/api/workflow-links/"):  # public, JSON only; 409: the link's step is decided
        return ["400", "409", "413", "415", "422"]
    if path in MFA_CODES:
        return ["400", "401", "403", "404", "409", "413", "415", "422", "429"]
    if path in ("/api/auth/password", *KB_READS, WATCHERS):  # the sign-in limits; read and CC rates
        return ["400", "401", "403", "404", "409", "413", "422", "429"]
    return ["400", "401", "403", "404", "409", "413", "422"]


def document_problems(app: FastAPI) -> None:
    """Extend the generated schema with the problem+json responses each operation can give."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        ref = {"$ref": "#/components/schemas/Problem"}
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for code in _codes(path):
                    responses[code] = {
                        "description": DESCRIPTIONS[code],
                        "content": {"application/problem+json": {"schema": ref}},
                    }
        add_links(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
