"""CPU work on more than one core: `polling.workers: N` runs feed parsing, matching and triage in N processes.

The parent keeps the network, the store and deliveries; the workers parse the feeds and turn the posts they are
handed into alerts. Started with the daemon, while it has no other thread, each worker is a fork of it: it has the
daemon's pipeline already built and shares the daemon's memory page for page instead of importing and building
everything again (docs/performance.md has the figures). Started later (a reload, a worker that died), when a fork
could copy a lock another thread holds, each is a new Python process that builds its pipeline from the settings.
With the default of one worker, the same functions run on threads instead (no second process, no extra memory).
"""
from __future__ import annotations

import asyncio
import ctypes
import gc
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timezone
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from .runtime import counters

if TYPE_CHECKING:
    from .models import AuthorHistory, Post
    from .pipeline import Pipeline
    from .settings import Settings

T = TypeVar("T")
log = structlog.get_logger()
_pipeline: Pipeline | None = None  # in a worker process: built once by _start
_active: PipelineWorkers | None = None  # in the daemon: the running pool, if polling.workers > 1
_PIPELINE_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pipeline")  # one: the GIL allows no more


async def offload(fn: Callable[..., T], *args: Any) -> T:
    """Run a CPU-heavy function of picklable arguments (parsing a feed) on the worker processes when there are
    some, else on a thread: never on the event loop."""
    if _active is not None:
        return await _active.run(fn, *args)
    return await asyncio.to_thread(fn, *args)


async def triage(pipeline: Pipeline, source_id: str, posts: list[Post], now: float,
                 history: dict[str, AuthorHistory], velocity: dict[str, int]) -> list:
    """process_posts, never on the event loop: on the worker processes (each with its own pipeline, built from
    the same settings) when there are some, else on the pipeline thread with `pipeline`, which is also what
    takes over a batch whose worker died. Mutes are counted here, in the daemon's process, where /metrics is."""
    if _active is not None:
        alerts, muted = await _active.run(_process, source_id, posts, now, history, velocity,
                                          fallback=partial(process_posts, pipeline))
    else:
        alerts, muted = await asyncio.get_running_loop().run_in_executor(
            _PIPELINE_THREAD, process_posts, pipeline, source_id, posts, now, history, velocity)
    for brand in muted:
        counters.alert_muted(brand)
    return alerts


def process_posts(pipeline: Pipeline, source_id: str, posts: list[Post], now: float,
                  history: dict[str, AuthorHistory], velocity: dict[str, int]) -> tuple[list, list[str]]:
    """(alert, deliveries) for every post that mentions a brand, and the brand of each muted one; a post that
    fails is logged and skipped."""
    alerts, muted = [], []
    when = datetime.fromtimestamp(now, timezone.utc)
    for post in posts:
        try:
            outcomes = pipeline.process(post, when, history.get(post.author.handle), velocity)
        except Exception:
            log.exception("post_processing_failed", source_id=source_id, post_id=post.id, url=post.url)
            continue
        alerts += [(o.alert, o.routing.deliveries if o.routing else {}) for o in outcomes]
        muted += [o.alert.mention.brand for o in outcomes if o.muted]
    return alerts, muted


class PipelineWorkers:
    """A pool of worker processes with the pipeline of `settings`, used by `offload` and `triage` while it is
    open. A worker that dies (killed, out of memory) breaks the pool: it is started again and the task in hand is
    done by the daemon itself, on a thread."""

    def __init__(self, settings: Settings, workers: int, pipeline: Pipeline | None = None):
        """`pipeline`: the daemon's own, for workers forked from it (see the module's docstring)."""
        global _active
        self._settings, self._workers, self._pipeline = settings, workers, pipeline
        self._frozen = False  # the daemon's objects are out of its collector's sight while forked workers share them
        self._pool = self._start_pool()
        _active = self

    def _start_pool(self) -> ProcessPoolExecutor:
        if self._pipeline is not None and threading.active_count() == 1 and sys.platform == "linux":
            self.start_method = "fork"
            initializer, initargs = _adopt, (self._pipeline, os.getpid())
            gc.freeze()  # the daemon's collector must not write to the pages its workers share either
            self._frozen = True
        else:
            self.start_method = "spawn"
            initializer, initargs = _start, (self._settings,)
        pool = ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context(self.start_method),
                                   initializer=initializer, initargs=initargs)
        for _ in range(self._workers):  # every worker starts now, not one per busy moment of the first cycle
            pool.submit(int)
        log.info("pipeline_workers_started", workers=self._workers, start=self.start_method)
        return pool

    async def run(self, fn: Callable[..., T], *args: Any, fallback: Callable[..., T] | None = None) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        except BrokenProcessPool:
            log.warning("pipeline_workers_restarted", task=getattr(fn, "__name__", str(fn)))
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._start_pool()
            return await asyncio.to_thread(fallback or fn, *args)

    def close(self) -> None:
        global _active
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._frozen:
            gc.unfreeze()  # what a reload replaces can be collected again
            self._frozen = False
        if _active is self:
            _active = None


def _start(settings: Settings) -> None:
    global _pipeline
    from .app import build_pipeline  # noqa: PLC0415 - the worker's own import, not the parent's cycle
    from .log import setup_logging  # noqa: PLC0415
    setup_logging(settings.log.level, settings.log.format)
    _pipeline = build_pipeline(settings)


def _adopt(pipeline: Pipeline, daemon_pid: int) -> None:
    """A forked worker: it keeps the daemon's pipeline, but none of its signal handling, and dies with it."""
    global _pipeline
    _die_with(daemon_pid)
    signal.set_wakeup_fd(-1)  # the daemon's event loop listens there: a signal here must not wake it
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    gc.freeze()  # the collector never visits the daemon's objects, so their pages stay shared, not copied
    _pipeline = pipeline


def _die_with(daemon_pid: int) -> None:
    """A forked worker holds copies of the daemon's files (its database, the pool's pipes), so it would not see
    the daemon die and would linger with them: the kernel kills it when the daemon dies."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != daemon_pid:  # the daemon died before the line above
        os._exit(1)


def _process(source_id: str, posts: list[Post], now: float, history: dict[str, AuthorHistory],
             velocity: dict[str, int]) -> tuple[list, list[str]]:
    assert _pipeline is not None, "worker not started"
    return process_posts(_pipeline, source_id, posts, now, history, velocity)
