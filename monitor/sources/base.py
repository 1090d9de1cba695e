"""The source contracts: `await source.fetch(state) -> FetchResult` for polled sources, `await source.stream(state,
sink)` for streaming ones; both raise the errors in monitor.errors.

A source only fetches and reports; the runner owns scheduling, backoff, parking and persistence.
"""
from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ..models import Post

if TYPE_CHECKING:
    from ..settings import BrandConfig


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
    """What one poll found. cursor/etag/last_modified are the complete new values to persist: carry the old
    ones over (from the SourceState you were given) when they did not change."""
    posts: list[Post] = field(default_factory=list)
    cursor: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    min_next_poll: float | None = None  # seconds: the server asked us not to come back sooner (TTL, Cache-Control)


class Source(Protocol):
    async def fetch(self, state: SourceState) -> FetchResult: ...


class StreamSink(Protocol):
    def connected(self) -> Awaitable[None]: ...

    def add(self, post: Post | None, cursor: str | None) -> Awaitable[None]: ...


class StreamSource(Protocol):
    async def stream(self, state: SourceState, sink: StreamSink) -> None:
        """Connect (resuming from state.cursor where the service can), await sink.connected(), then await
        sink.add(post or None, cursor) for each event: None for an event that is not a post for us, which still
        moves the cursor. Runs until the connection ends, and then raises why."""


def search_terms(brands: "Sequence[BrandConfig]", only: Sequence[str] = ()) -> list[str]:
    """The keywords a search-style source should query: every term of the brands this source serves
    (`only` = the source's `brands:` filter; empty = all), each once, in config order."""
    terms: dict[str, None] = {}
    for brand in brands:
        if not only or brand.name in only:
            terms.update(dict.fromkeys(t.strip() for t in brand.terms if t.strip()))
    return list(terms)
