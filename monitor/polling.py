"""Runs one poll of one source: fetch -> dedup -> pipeline -> one store transaction; owns backoff and parking.

APScheduler triggers polls (one interval job per source); this module decides what a poll means and
when the next one may happen, and persists that in source_state so restarts keep backoff and parking.
"""
from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import structlog

from .backoff import backoff_delay
from .errors import AuthFailedError, ExternalError, RateLimitedError, TransientError, describe
from .models import Post
from .pipeline import Pipeline
from .routing.incidents import Incident, absorb, incident_key
from .runtime import counters
from .settings import IncidentConfig, PollingConfig, SourceConfig
from .sources.base import FetchResult, Source, SourceState
from .store import Store
from .workers import triage

log = structlog.get_logger()


@dataclass(frozen=True)
class PollReport:
    source_id: str
    ok: bool
    posts: int = 0
    new_posts: int = 0
    alerts: int = 0
    queued: int = 0
    error: str | None = None
    next_poll_at: float | None = None


def after_failure(state: SourceState, exc: Exception, now: float, every: float, polling: PollingConfig,
                  rng: random.Random | None = None) -> SourceState:
    """The state to persist after a failed poll: error count, backoff, and parking."""
    errors = state.error_count + 1
    parked = isinstance(exc, AuthFailedError) or errors >= polling.park_after
    retry_after = exc.retry_after if isinstance(exc, RateLimitedError) else None
    if parked:
        delay = max(polling.parked_retry, retry_after or 0.0)
    else:
        delay = backoff_delay(errors, every, max(polling.backoff_max, every), retry_after, rng)
    return replace(state, error_count=errors, last_error=describe(exc)[:500], parked=parked,
                   last_attempt_at=now, next_poll_at=now + delay)


def after_success(state: SourceState, result: FetchResult, now: float, every: float) -> SourceState:
    """The state to persist after a good poll: new cursor and validators, errors cleared, the next poll after
    the regular interval or later if the server asked for that (TTL, Cache-Control, rate-limit reset)."""
    return replace(state, cursor=result.cursor, etag=result.etag, last_modified=result.last_modified,
                   error_count=0, last_error=None, parked=False, last_success_at=now, last_attempt_at=now,
                   next_poll_at=now + max(every, result.min_next_poll or 0.0))


class Poller:
    def __init__(self, store: Store, pipeline: Pipeline, polling: PollingConfig,
                 on_queued: Callable[[], None] = lambda: None, clock: Callable[[], float] = time.time,
                 incidents: IncidentConfig = IncidentConfig()):
        self.store = store
        self.pipeline = pipeline
        self.polling = polling
        self.incidents = incidents
        self.on_queued = on_queued
        self.clock = clock
        self.grace = 10.0

    def budget(self, config: SourceConfig) -> float:
        """A whole poll may take a few requests' worth of time, never forever."""
        return config.timeout * 3 + self.grace

    async def poll(self, source_id: str, source: Source, config: SourceConfig) -> PollReport:
        state = await self.store.run(self.store.load_source_state, source_id)
        try:
            async with asyncio.timeout(self.budget(config)):
                result = await source.fetch(state)
        except Exception as exc:  # contain every failure to this source
            return await self._failed(state, exc, config)
        return await self._succeeded(state, result, config)

    async def _succeeded(self, state: SourceState, result: FetchResult, config: SourceConfig) -> PollReport:
        now = self.clock()
        new_state = after_success(state, result, now, config.every)
        fresh, alerts, queued = await self.commit(new_state, result.posts, now)
        counters.poll(state.source_id, True)
        if state.error_count:
            log.info("source_recovered", source_id=state.source_id, after_errors=state.error_count)
        log.info("poll_completed", source_id=state.source_id, posts=len(result.posts), new_posts=len(fresh),
                 alerts=len(alerts), queued=queued, not_modified=result.not_modified)
        return PollReport(state.source_id, True, len(result.posts), len(fresh), len(alerts), queued,
                          next_poll_at=new_state.next_poll_at)

    async def commit(self, new_state: SourceState, posts: list[Post], now: float) -> tuple[list[Post], list, int]:
        """Dedup, match, triage and fold into incidents, then store the new posts, their alerts and outbox rows
        and `new_state` in one transaction. Returns the new posts, the alerts and how many deliveries were queued."""
        fresh = await self.store.run(self.store.unseen, posts)
        history = await self.store.run(self.store.author_history, [p.author.handle for p in fresh])
        velocity = await self.store.run(self.store.recent_negative, now - self.incidents.window) if fresh else {}
        # matching and triage are CPU work, never on the event loop: a big first cycle must not stall deliveries
        alerts = await triage(self.pipeline, new_state.source_id, fresh, now, history, velocity)
        alerts, incidents = await self._fold_incidents(alerts, now)
        notices = [a.mention.post for a, _ in alerts if a.kind == "incident"]
        queued = await self.store.run(self.store.ingest, new_state, fresh + notices, alerts, now, incidents)
        if queued:
            self.on_queued()
        counters.posts(new_state.source_id, fetched=len(posts), new=len(fresh))
        for alert, _ in alerts:
            counters.alert_created(alert.mention.brand, alert.assessment.severity, alert.assessment.category)
            log.debug("alert_created", alert_id=alert.id, brand=alert.mention.brand,
                      severity=alert.assessment.severity, category=alert.assessment.category)
        return fresh, alerts, queued

    async def _fold_incidents(self, alerts: list, now: float) -> tuple[list, list[Incident]]:
        keys = {key for alert, _ in alerts if (key := incident_key(alert))}
        if not keys or not self.incidents.enabled:
            return alerts, []
        open_incidents, reports = await self.store.run(self.store.incident_context, keys,
                                                       now - self.incidents.window)
        alerts, changed = absorb(alerts, open_incidents, reports, self.incidents, now)
        for incident in changed:
            log.info("incident_updated", brand=incident.brand, category=incident.category, incident_id=incident.id,
                     reports=incident.members)
        return alerts, changed

    async def _failed(self, state: SourceState, exc: Exception, config: SourceConfig) -> PollReport:
        if isinstance(exc, TimeoutError):
            exc = TransientError(f"poll took longer than {self.budget(config):.1f}s")
        new_state = after_failure(state, exc, self.clock(), config.every, self.polling)
        await self.store.run(self.store.save_source_state, new_state)
        error = describe(exc)
        counters.poll(state.source_id, False)
        log.debug("poll_failed", source_id=state.source_id, error=error)  # the log at info speaks on changes only
        if not state.error_count:
            log.warning("source_failed", source_id=state.source_id, error=error,
                        exc_info=not isinstance(exc, ExternalError))
        if new_state.parked and not state.parked:
            log.error("source_parked", source_id=state.source_id, error=error, errors=new_state.error_count,
                      retry_in_s=round(new_state.next_poll_at - self.clock()))
        return PollReport(state.source_id, False, error=error, next_poll_at=new_state.next_poll_at)
