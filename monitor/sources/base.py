"""The source contract: `await source.fetch(state) -> FetchResult`, raising the errors in monitor.errors.

A source only fetches and reports; the runner owns scheduling, backoff, parking and persistence.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ..models import Post


@dataclass(frozen=True)
class SourceState:
    """What is persisted per source between polls (and across restarts)."""
    source_id: str
    cursor: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    next_poll_at: float = 0.0
    error_count: int = 0
    last_error: str | None = None
    parked: bool = False
    last_success_at: float | None = None
    last_attempt_at: float | None = None


@dataclass(frozen=True)
class FetchResult:
    posts: list[Post] = field(default_factory=list)
    cursor: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    min_next_poll: float | None = None  # seconds: the server asked us not to come back sooner (TTL, Cache-Control)


class Source(Protocol):
    async def fetch(self, state: SourceState) -> FetchResult: ...
