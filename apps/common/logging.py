"""Structured logs: one JSON object per line on stderr, which every log pipeline can parse."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged as a field.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({})).keys()) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}

# Libraries that log per request at INFO (the SDK's stateless session manager, httpx) would bury
# our one line per tool call; they still log warnings.
_CHATTY_LOGGERS = ("mcp", "httpx", "httpx2", "uvicorn.access", "botocore", "urllib3", "kubernetes")


# Made once: json.dumps with any non-default option builds a new encoder for every line.
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _ENCODER.encode(entry)


def configure_logging(level: str) -> None:
    """Send every log record to stderr as JSON; idempotent, so tests can call it repeatedly."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h.formatter, JsonFormatter)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(level)
    quiet_level = max(logging.WARNING, logging.getLevelName(level))
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(quiet_level)
