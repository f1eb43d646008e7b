"""A request the schema allows fits the HTTP server's request line: uvicorn refuses a line over about 64 KB with a
plain-text 400 that no route documents (schemathesis sent five 4,000-character query parameters of four-byte
characters to the OpenID callback). Every query parameter's bound, at 12 bytes a character once percent-encoded,
keeps each operation's URL under 48 KB."""

from __future__ import annotations

from fastapi import FastAPI

from nixflow.api.app import include_routes

LIMIT = 48 * 1024  # uvicorn's limit lies between 48 and 72 KB here; stay well inside it
PER_CHARACTER = 12  # a four-byte UTF-8 character, percent-encoded


def test_every_operations_query_fits_the_request_line() -> None:
    app = FastAPI()
    include_routes(app)
    too_long = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            bytes_ = len(path) * PER_CHARACTER
            for parameter in operation.get("parameters", []):
                if parameter["in"] not in ("query", "path"):
                    continue
                schema = parameter["schema"]
                options = schema.get("anyOf", [schema])
                longest = max((o.get("maxLength", 0) for o in options if o.get("type") == "string"), default=0)
                items = max((o.get("maxItems", 1) for o in options if o.get("type") == "array"), default=1)
                bytes_ += (longest or 64) * PER_CHARACTER * items + len(parameter["name"]) + 2
            if bytes_ > LIMIT:
                too_long.append(f"{method.upper()} {path}: up to {bytes_} bytes")
    assert not too_long, "\n".join(too_long)
