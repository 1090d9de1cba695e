"""Errors at the plugin boundary and in configuration.

Sources and notifiers raise the same four kinds; the poll runner and the delivery worker decide what
each means (backoff, park, dead-letter). Every message is redacted as the error is made: whatever a remote
API echoes into it (a token-bearing request path, say), no secret reaches the store, a log or the terminal.
"""
from __future__ import annotations

from .redaction import redact


class ConfigError(Exception):
    """One or more problems in a configuration file, each already phrased as `file:line: field: message`."""

    def __init__(self, problems: list[str]):
        self.problems = [redact(problem) for problem in problems]
        super().__init__("\n".join(self.problems))


class ExternalError(Exception):
    """A source or destination failed. The message should name the part, not its token-bearing URL."""

    def __init__(self, message: str):
        super().__init__(redact(message))


class TransientError(ExternalError):
    """Network trouble, timeouts, 5xx: try again after a backoff."""


class RateLimitedError(TransientError):
    """429/503: try again no sooner than `retry_after` seconds (None when the server did not say)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(ExternalError):
    """The request can never succeed as configured (404/410 gone, 400 rejected payload, malformed data)."""


class AuthFailedError(PermanentError):
    """401/403: a credential is wrong or revoked; retrying will not help until a human fixes it."""


def describe(exc: Exception) -> str:
    """An exception as the operator sees it (status, log, `once`): ours as they are, others as internal errors."""
    if isinstance(exc, ExternalError):
        return str(exc)
    return redact(f"internal error: {type(exc).__name__}: {exc}")
