"""Schemathesis hooks for fuzzing NixFlow: loaded by `schemathesis.toml` (for `st run`) and by
`test_schemathesis.py`. They keep a run from sawing off the branch it sits on; they hide no finding."""

from __future__ import annotations

import os
import uuid
from typing import Any

import schemathesis

# Users the fuzzer signs in as: a generated PATCH /api/users/{id} goes to SPARE_USER instead, so it cannot
# deactivate or demote the caller mid-run. `st run` reads them from the environment.
KEEP_USERS: set[str] = {v for v in os.environ.get("NIXFLOW_FUZZ_KEEP_USERS", "").split(",") if v}
SPARE_USER: str | None = os.environ.get("NIXFLOW_FUZZ_SPARE_USER") or None


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    """A fresh Idempotency-Key per request (reusing one with another body is the contract's 422, tested in
    tests/integration/test_tickets_api.py); the fuzzer's own accounts left alone."""
    headers = case.headers or {}
    for name, value in list(headers.items()):
        if name.lower() == "idempotency-key" and isinstance(value, str) and 1 <= len(value) <= 200:
            headers[name] = f"{value}-{uuid.uuid4().hex}"
    params = case.path_parameters or {}
    if SPARE_USER is not None and str(params.get("user_id")) in KEEP_USERS:
        params["user_id"] = int(SPARE_USER)
