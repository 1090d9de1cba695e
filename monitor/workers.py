"""Matching and triage on more than one core: `polling.workers: N` runs them in N worker processes.

The parent keeps fetching, parsing, the store and deliveries; each worker builds its own pipeline from the
settings once and then only turns posts into alerts. With the default of one worker, the poller runs the same
function on a thread of its own instead (no second process, no extra memory).
"""
from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from .models import AuthorHistory, Post
    from .pipeline import Pipeline
    from .settings import Settings

log = structlog.get_logger()
_pipeline: Pipeline | None = None  # in a worker process: built once by _start


def process_posts(pipeline: Pipeline, source_id: str, posts: list[Post], now: float,
                  history: dict[str, AuthorHistory], velocity: dict[str, int]) -> list:
    """(alert, deliveries) for every post that mentions a brand; a post that fails is logged and skipped."""
    alerts = []
    when = datetime.fromtimestamp(now, timezone.utc)
    for post in posts:
        try:
            outcomes = pipeline.process(post, when, history.get(post.author.handle), velocity)
        except Exception:
            log.exception("post_processing_failed", source_id=source_id, post_id=post.id, url=post.url)
            continue
        alerts += [(o.alert, o.routing.deliveries if o.routing else {}) for o in outcomes]
    return alerts


class PipelineWorkers:
    """A pool of worker processes with the pipeline of `settings`. A worker that dies (killed, out of memory)
    breaks the pool: it is started again and the batch in hand is processed by the daemon itself."""

    def __init__(self, settings: Settings, workers: int, fallback: Pipeline):
        self._settings, self._workers, self._fallback = settings, workers, fallback
        self._pool = self._start_pool()

    def _start_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the daemon has threads (store, pipeline) that a fork would copy mid-work
        return ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start, initargs=(self._settings,))

    async def process(self, source_id: str, posts: list[Post], now: float, history: dict[str, AuthorHistory],
                      velocity: dict[str, int]) -> list:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, _process, source_id, posts, now, history, velocity)
        except BrokenProcessPool:
            log.warning("pipeline_workers_restarted", source_id=source_id)
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._start_pool()
            return await asyncio.to_thread(process_posts, self._fallback, source_id, posts, now, history, velocity)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _start(settings: Settings) -> None:
    global _pipeline
    from .app import build_pipeline  # noqa: PLC0415 - the worker's own import, not the parent's cycle
    from .log import setup_logging  # noqa: PLC0415
    setup_logging(settings.log.level, settings.log.format)
    _pipeline = build_pipeline(settings)


def _process(source_id: str, posts: list[Post], now: float, history: dict[str, AuthorHistory],
             velocity: dict[str, int]) -> list:
    assert _pipeline is not None, "worker not started"
    return process_posts(_pipeline, source_id, posts, now, history, velocity)
