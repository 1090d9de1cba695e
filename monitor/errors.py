"""Errors at the plugin boundary and in configuration.

Sources and notifiers raise the same four kinds; the poll runner and the delivery worker decide what
each means (backoff, park, dead-letter).
"""
from __future__ import annotations


class ConfigError(Exception):
    """One or more problems in a configuration file, each already phrased as `file:line: field: message`."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class ExternalError(Exception):
    """A source or destination failed. The message must be safe to log (no secrets, no token URLs)."""


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
