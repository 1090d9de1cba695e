"""Acknowledging alerts from where people are, with no public endpoint: Matrix reactions (sync), Telegram
buttons (getUpdates), Slack reactions (reactions.get), and the brands' own public replies (Mastodon, Bluesky, X).
A notifier plugin offers its listener through the registry (`registry.notifier(..., ack_listener=...)`);
`AckPoller` runs every listener in a task of its own, so one listener failing or hanging never stops or delays
another."""
from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from dataclasses import dataclass

import structlog

from ..backoff import backoff_delay
from ..errors import ExternalError, RateLimitedError, describe
from ..store import Store
from .common import AckListener
from .replies import PublicReplyListener

log = structlog.get_logger()

__all__ = ["AckListener", "AckPoller", "ListenerState", "PublicReplyListener"]

BACKOFF_MAX = 300.0   # a failing listener is retried at most this far apart (unless the service asks for longer)


@dataclass
class ListenerState:
    """How one listener fares, for logs, `status` and /metrics."""
    ok: bool = True
    since: float | None = None       # when it started working or failing; None before its first poll
    failures: int = 0                # failed polls in a row
    error: str | None = None         # the last error while failing
    error_kind: str | None = None    # its class: TransientError, AuthFailedError, …
    last_ok_at: float | None = None  # its last successful poll
    polled_at: float | None = None   # its last poll


class AckPoller:
    """Polls each listener every `every` seconds in a task of its own. A failing listener is retried with capped
    exponential backoff with jitter (no sooner than a server-given Retry-After), logged when it starts and stops
    failing (not on every poll) and never stops the others. With a store, each listener's state is saved after
    every poll, for `brand-monitor status`."""

    def __init__(self, listeners: list[AckListener], every: float, store: Store | None = None,
                 backoff_max: float = BACKOFF_MAX, rng: random.Random | None = None):
        self.listeners = listeners
        self.states = {_key(x): ListenerState() for x in listeners}
        self._store, self._every, self._backoff_max, self._rng = store, every, backoff_max, rng
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        if self._store is not None:
            await self._save(self._store.forget_listeners_except, [_key(x) for x in self.listeners])
        self._tasks = [asyncio.create_task(self._run(x), name=f"ack:{_key(x)}") for x in self.listeners]

    async def stop(self) -> None:
        """Cancel every listener's task: a poll cut short is simply repeated by the next process or config."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _run(self, listener: AckListener) -> None:
        while True:
            next_at = await self.poll(listener, time.time())
            await asyncio.sleep(max(0.0, next_at - time.time()))

    async def poll(self, listener: AckListener, now: float) -> float:
        """Poll one listener once, containing whatever it raises; returns when to poll it next."""
        state = self.states[_key(listener)]
        try:
            await listener.poll_once(now)
        except Exception as exc:  # whatever one listener raises (even a bug), the others carry on
            state.failures += 1
            await self._record(listener, state, exc, now)
            retry_after = exc.retry_after if isinstance(exc, RateLimitedError) else None
            return now + backoff_delay(state.failures, self._every, self._backoff_max, retry_after, self._rng)
        await self._record(listener, state, None, now)
        return now + self._every

    async def _record(self, listener: AckListener, state: ListenerState, exc: Exception | None, now: float) -> None:
        error = None if exc is None else describe(exc)  # describe() redacts
        if exc is not None and state.ok:
            log.warning("ack_listener_failed", notifier_id=listener.id, via=listener.kind,
                        error_kind=type(exc).__name__, error=error, exc_info=not isinstance(exc, ExternalError))
        elif exc is None and not state.ok:
            log.info("ack_listener_recovered", notifier_id=listener.id, via=listener.kind,
                     after_failures=state.failures)
        if state.since is None or state.ok != (exc is None):
            state.since = now
        state.ok, state.error, state.polled_at = exc is None, error, now
        state.error_kind = None if exc is None else type(exc).__name__
        if exc is None:
            state.failures, state.last_ok_at = 0, now
        if self._store is not None:
            await self._save(self._store.save_listener_state, _key(listener), state.ok, state.since, error,
                             state.failures, state.last_ok_at, now)

    async def _save(self, method, *args) -> None:
        assert self._store is not None
        try:
            await self._store.run(method, *args)
        except sqlite3.Error as err:  # the listeners' own work goes on; status is just less current
            log.warning("listener_state_not_saved", error=str(err))


def _key(listener: AckListener) -> str:
    return f"{listener.kind}:{listener.id}"
