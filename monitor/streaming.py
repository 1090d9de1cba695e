"""Runs a streaming source: keeps it connected, commits what it sends in small batches through the same one
transaction as a poll (posts, mentions, outbox rows and cursor), reconnects with capped backoff and full jitter,
and tells the daemon when the stream's fallback source must be polled instead.

What is persisted in source_state: the cursor; error_count = failed connections since the last good one;
parked = the fallback is being polled (refused, or down for `fallback_after`); last_success_at = the last event
committed; next_poll_at = the next connection attempt.
"""
from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import replace

import structlog

from .backoff import backoff_delay
from .errors import ExternalError, PermanentError, RateLimitedError, TransientError, describe
from .models import Post
from .polling import Poller
from .settings import StreamConfig
from .sources.base import SourceState, StreamSource
from .store import StoreError

log = structlog.get_logger()
FLUSH_EVERY = 0.5     # seconds a post may wait for others to share its transaction
FLUSH_POSTS = 50      # or this many posts
CURSOR_EVERY = 5.0    # a cursor moved by events that were not for us is saved at most this often
RECONNECT_MIN = 1.0


class StreamRunner:
    def __init__(self, source_id: str, source: StreamSource, config: StreamConfig, poller: Poller,
                 parked_retry: float, on_connected: Callable[[], None] = lambda: None,
                 on_fallback: Callable[[], None] = lambda: None, clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None):
        self.source_id, self.source, self.config, self.poller = source_id, source, config, poller
        self.parked_retry, self.clock, self.rng = parked_retry, clock, rng
        self.on_connected, self.on_fallback = on_connected, on_fallback
        self.connected = False
        self.parked = False
        self._down_since = self._up_since = clock()
        self._failures = 0  # in a row; a connection that drops within reconnect_max does not end the row
        self._task: asyncio.Task | None = None

    @property
    def live(self) -> bool:
        """True while the stream is (or is about to be) the way posts arrive; False: poll the fallback."""
        return self.connected or not self.parked

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"stream:{self.source_id}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        store = self.poller.store
        state = await store.run(store.load_source_state, self.source_id)
        self.parked = state.parked  # a restart tries the stream at once, but polls the fallback until it connects
        self._failures = state.error_count
        while True:
            try:
                state, delay = await self._session(state)
            except StoreError:  # logged by the store; nothing of the batch was committed, the cursor says so
                delay = self.config.reconnect_max
            await asyncio.sleep(delay)

    async def _session(self, state: SourceState) -> tuple[SourceState, float]:
        batch = Batch(self, state)
        try:
            await self.source.stream(state, batch)
            error: Exception = TransientError(f"{self.source_id}: the server closed the stream")
        except Exception as exc:  # whatever ends this connection ends only this connection
            error = exc
        finally:
            await batch.close()  # on stop too: what arrived before it is kept
        return await self._failed(batch.state, error)

    async def _connected(self, state: SourceState) -> SourceState:
        new_state = replace(state, error_count=0, last_error=None, parked=False, last_attempt_at=self.clock())
        await self.poller.store.run(self.poller.store.save_source_state, new_state)
        self.connected, self.parked, self._up_since = True, False, self.clock()
        log.info("stream_connected", source_id=self.source_id, after_errors=self._failures)
        self.on_connected()
        return new_state

    async def _failed(self, state: SourceState, exc: Exception) -> tuple[SourceState, float]:
        now = self.clock()
        if self.connected:
            self.connected, self._down_since = False, now
            if now - self._up_since >= self.config.reconnect_max:
                self._failures = 0
        self._failures += 1
        errors = self._failures
        refused = isinstance(exc, (PermanentError, RateLimitedError))
        parked = refused or now - self._down_since >= self.config.fallback_after
        if isinstance(exc, PermanentError):
            delay = self.parked_retry
        else:
            retry_after = exc.retry_after if isinstance(exc, RateLimitedError) else None
            delay = backoff_delay(errors, RECONNECT_MIN, self.config.reconnect_max, retry_after, self.rng)
        new_state = replace(state, error_count=errors, last_error=describe(exc)[:500], parked=parked,
                            last_attempt_at=now, next_poll_at=now + delay)
        await self.poller.store.run(self.poller.store.save_source_state, new_state)
        if errors == 1:
            log.warning("stream_disconnected", source_id=self.source_id, error=describe(exc),
                        exc_info=not isinstance(exc, ExternalError))
        fallback_starts = parked and not self.parked
        self.parked = parked
        if fallback_starts:
            log.warning("stream_fallback_started", source_id=self.source_id, fallback=self.config.fallback,
                        error=describe(exc), retry_in_s=round(delay))
            self.on_fallback()
        return new_state, delay


class Batch:
    """The sink a streaming source writes to: posts wait up to FLUSH_EVERY (or until FLUSH_POSTS) and are then
    committed, with the cursor of the last event before them, in one transaction."""

    def __init__(self, runner: StreamRunner, state: SourceState):
        self.runner, self.state = runner, state
        self.posts: list[Post] = []
        self.cursor = state.cursor
        self._lock = asyncio.Lock()
        self._timer: asyncio.Task | None = None

    async def connected(self) -> None:
        self.state = await self.runner._connected(self.state)

    async def add(self, post: Post | None, cursor: str | None) -> None:
        if post is not None:
            self.posts.append(post)
        if cursor is not None:
            self.cursor = cursor
        if len(self.posts) >= FLUSH_POSTS:
            await self.flush()  # the source waits: a slow store slows reading, nothing piles up in memory
        elif self.posts and self._timer is None:
            self._timer = asyncio.create_task(self._flush_later())
        elif not self.posts and self.cursor != self.state.cursor \
                and self.runner.clock() - (self.state.last_success_at or 0.0) >= CURSOR_EVERY:
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            posts, cursor, now = self.posts, self.cursor, self.runner.clock()
            if not posts and cursor == self.state.cursor:
                return
            self.posts = []
            new_state = replace(self.state, cursor=cursor, last_success_at=now)
            try:
                fresh, alerts, queued = await self.runner.poller.commit(new_state, posts, now)
            except BaseException:
                self.posts = posts + self.posts  # kept for the next flush
                raise
            self.state = new_state
        if posts:
            log.debug("stream_batch_committed", source_id=self.runner.source_id, posts=len(posts),
                      new_posts=len(fresh), alerts=len(alerts), queued=queued)

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            await self.flush()
        except StoreError:
            pass  # logged by the store; a stream that replays from its cursor sends these again

    async def _flush_later(self) -> None:
        await asyncio.sleep(FLUSH_EVERY)
        self._timer = None
        try:
            await self.flush()
        except StoreError:
            pass  # logged by the store; the posts stay and go with the next flush
