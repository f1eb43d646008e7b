"""Credentials stay out of logs: `token=` and `ticket=` values in a logged URL are replaced before a line is written."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any, Literal

from uvicorn.config import LOGGING_CONFIG

from nixflow.observe import logs

_CREDENTIAL = re.compile(r"(?i)\b((?:access_)?token|ticket)=[^&\s\"']*")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """`text` with the value of every `token=` and `ticket=` query parameter replaced."""
    return _CREDENTIAL.sub(lambda m: f"{m.group(1)}={REDACTED}", text)


def _redact_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactCredentials(logging.Filter):
    """A logging filter that redacts credentials in a record's message and arguments, keeping their shape (uvicorn's
    access formatter reads its arguments by position)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_value(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redact_value(v) for k, v in record.args.items()}
        return True


def install_on_root() -> None:
    """Redact on every handler of the root logger (NixFlow's own lines)."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactCredentials())


def uvicorn_log_config(style: Literal["text", "json"] = "text") -> dict[str, Any]:
    """uvicorn's own logging configuration, with the redacting filter on each of its handlers (and, for
    NIXFLOW_LOG_FORMAT=json, its lines as JSON objects with the request's ids)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_credentials"] = {"()": RedactCredentials}
    config["filters"]["log_context"] = {"()": logs.ContextFilter}
    if style == "json":
        config["formatters"] = {name: {"()": logs.JsonFormatter} for name in config["formatters"]}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).extend(["redact_credentials", "log_context"])
    return config
