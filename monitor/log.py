"""structlog set-up: JSON lines under systemd or when stdout is not a terminal, readable output on a TTY.

Every string of every event, nested ones and tracebacks included, passes through `redact`, so a secret or a
token-bearing URL that slips into a log line is masked.
"""
from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from .redaction import redact_all
from .runtime.metrics import LEVELS, count_warnings, drop_below
from .runtime.systemd import under_systemd


def _redact_event(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    return redact_all(event)


def setup_logging(level: str = "info", fmt: str = "auto") -> None:
    """Configure structlog. Warnings and worse are counted for /metrics even when `level` hides them."""
    use_json = fmt == "json" or (fmt == "auto" and (under_systemd() or not sys.stderr.isatty()))
    renderer = structlog.processors.JSONRenderer(ensure_ascii=False) if use_json else \
        structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
    processors = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        count_warnings,
        drop_below(level),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,  # tracebacks become text here, so that they are redacted too
        _redact_event,
        renderer,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(min(LEVELS.get(level.lower(), 20), logging.WARNING)),
        logger_factory=lambda *_: structlog.PrintLogger(sys.stderr),  # stderr as it is now, not at set-up
        cache_logger_on_first_use=False,
    )
