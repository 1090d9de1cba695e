"""structlog set-up: JSON lines under systemd or when stdout is not a terminal, readable output on a TTY.

Every string of every event, nested ones and tracebacks included, passes through `redact`, so a secret or a
token-bearing URL that slips into a log line is masked.
"""
from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import structlog

from .redaction import redact_all
from .runtime import counters
from .runtime.systemd import under_systemd

WARNING_LEVELS = {"warning", "error", "critical", "exception"}
LEVELS = {"debug": 10, "info": 20, "warning": 30, "warn": 30, "error": 40, "exception": 40, "critical": 50}


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


def count_warnings(_logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: count warning-or-worse events by level and name (a log metric, so it is keyed by the
    log's own names); pass the event on unchanged."""
    name = event.get("event")
    if method in WARNING_LEVELS and isinstance(name, str):
        counters.log_event(method, name)
    return event


def drop_below(level: str) -> Callable[[Any, str, dict[str, Any]], dict[str, Any]]:
    """structlog processor that drops events under `level`."""
    threshold = LEVELS.get(level.lower(), 20)

    def processor(_logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
        if LEVELS.get(method, 20) < threshold:
            raise structlog.DropEvent
        return event
    return processor
