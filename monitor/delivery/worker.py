"""Delivers outbox rows: one loop per destination, so a slow or broken destination never holds up the others.

Claim with a lease -> send -> mark sent. Transient failures retry with capped, jittered backoff (Retry-After
honoured, and the whole destination pauses while it is rate limited); permanent failures, too many attempts
or too old an alert are dead-lettered and handed to the destination's fallback.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import structlog

from ..backoff import backoff_delay
from ..errors import PermanentError, RateLimitedError, TransientError, describe
from ..notifiers.base import Notifier
from ..runtime import counters
from ..settings import DeliveryConfig, NotifierConfig
from ..store import OutboxRow, Store, StoreError

log = structlog.get_logger()
IDLE_CHECK = 30.0


@dataclass(frozen=True)
class Destination:
    notifier: Notifier
    config: NotifierConfig


class DeliveryWorker:
    def __init__(self, store: Store, destinations: dict[str, Destination], config: DeliveryConfig,
                 clock: Callable[[], float] = time.time, ack_url: Callable[[str], str] | None = None):
        self.store = store
        self.ack_url = ack_url
        self.destinations = destinations
        self.config = config
        self.clock = clock
        self._wakeups: dict[str, asyncio.Event] = {}
        self._loops: dict[str, asyncio.Task] = {}
        self._stopping = False

    def start(self) -> None:
        for notifier_id in self.destinations:
            self._start_loop(notifier_id)

    def _start_loop(self, notifier_id: str) -> None:
        self._wakeups[notifier_id] = asyncio.Event()
        self._loops[notifier_id] = asyncio.create_task(self._loop(notifier_id), name=f"deliver:{notifier_id}")

    def wake(self) -> None:
        for event in self._wakeups.values():
            event.set()

    async def replace_destinations(self, destinations: dict[str, Destination]) -> None:
        """Swap the destination table (config reload); sends in flight finish with the old notifier."""
        removed = set(self.destinations) - set(destinations)
        self.destinations = destinations
        for notifier_id in removed:
            self._loops.pop(notifier_id).cancel()
            self._wakeups.pop(notifier_id)
        for notifier_id in destinations:
            if notifier_id not in self._loops:
                self._start_loop(notifier_id)
        self.wake()

    async def stop(self) -> None:
        """Stop claiming; let sends in flight finish for up to drain_timeout; release the rest's leases."""
        self._stopping = True
        self.wake()
        loops = list(self._loops.values())
        done, pending = await asyncio.wait(loops, timeout=self.config.drain_timeout) if loops else (set(), set())
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
            log.warning("delivery_drain_cut_off", unfinished=len(pending))

    async def _loop(self, notifier_id: str) -> None:
        while not self._stopping:
            try:
                row = await self.store.run(self.store.claim, notifier_id, self.clock(), self._lease(notifier_id))
                if row is None:
                    await self._wait_for_work(notifier_id)
                    continue
                _, pause = await self._deliver(notifier_id, row)
                destination = self.destinations.get(notifier_id)
                pause = max(pause, destination.config.min_interval if destination else 0.0)
                if pause:
                    await self._sleep(notifier_id, pause)
            except asyncio.CancelledError:
                raise
            except StoreError:  # logged by the store when it started failing; a row it could not mark is resent
                await self._sleep(notifier_id, 5.0)
            except Exception:
                log.exception("delivery_loop_failed", notifier_id=notifier_id)
                await self._sleep(notifier_id, 5.0)

    def _lease(self, notifier_id: str) -> float:
        return max(self.config.lease, self.destinations[notifier_id].config.timeout * 2 + 10)

    async def _wait_for_work(self, notifier_id: str) -> None:
        due = await self.store.run(self.store.next_due_at, notifier_id)
        delay = IDLE_CHECK if due is None else min(IDLE_CHECK, max(0.05, due - self.clock()))
        await self._sleep(notifier_id, delay)

    async def _sleep(self, notifier_id: str, seconds: float) -> None:
        """Sleep, but wake early for new work or a stop."""
        event = self._wakeups[notifier_id]
        event.clear()
        try:
            await asyncio.wait_for(event.wait(), timeout=seconds)
        except TimeoutError:
            pass

    async def flush(self) -> int:
        """Deliver every row that is due now, destinations in parallel; rows scheduled for later stay queued.
        Returns how many were delivered."""
        async def drain(notifier_id: str) -> int:
            sent = 0
            while row := await self.store.run(self.store.claim, notifier_id, self.clock(), self._lease(notifier_id)):
                sent += (await self._deliver(notifier_id, row))[0]
            return sent
        return sum(await asyncio.gather(*(drain(nid) for nid in self.destinations)))

    async def _deliver(self, notifier_id: str, row: OutboxRow) -> tuple[bool, float]:
        """Send one row and record the outcome: (delivered?, how long this destination must pause)."""
        destination = self.destinations[notifier_id]
        cfg, now = destination.config, self.clock()
        if now - row.created_at > cfg.max_age:
            await self._dead(row, cfg, f"not delivered within max_age ({cfg.max_age:.0f}s)")
            return False, 0.0
        alert = row.alert()
        if self.ack_url and row.batch is None:
            alert = replace(alert, ack_url=self.ack_url(alert.id))
        if alert.thread:
            parent = await self.store.run(self.store.thread_parent, notifier_id, alert.thread)
            alert = replace(alert, thread_parent=parent or "")
        try:
            async with asyncio.timeout(cfg.timeout + 5):
                delivery = await destination.notifier.send(alert, row.idempotency_key)
        except asyncio.CancelledError:
            await self.store.run(self.store.release, row)
            raise
        except RateLimitedError as exc:
            return False, await self._retry(row, cfg, str(exc), exc.retry_after, rate_limited=True)
        except PermanentError as exc:
            await self._dead(row, cfg, str(exc))
            return False, 0.0
        except TransientError as exc:
            return False, await self._retry(row, cfg, str(exc), None)
        except TimeoutError:
            return False, await self._retry(row, cfg, f"send took longer than {cfg.timeout + 5:.0f}s", None)
        except Exception as exc:
            log.exception("notifier_crashed", notifier_id=notifier_id, alert_id=row.alert_id)
            return False, await self._retry(row, cfg, describe(exc), None)
        sent_at = self.clock()
        if await self.store.run(self.store.mark_sent, row, sent_at, delivery.status_code, delivery.remote_id):
            published = alert.mention.post.published_at
            counters.delivery(notifier_id, "sent", queued_s=sent_at - row.created_at,
                              post_age_s=sent_at - published.timestamp() if published else None)
            log.info("alert_delivered", notifier_id=notifier_id, alert_id=row.alert_id, attempt=row.attempts,
                     latency_s=round(sent_at - row.created_at, 3),
                     post_age_s=round(sent_at - published.timestamp(), 3) if published else None)
        else:
            counters.delivery(notifier_id, "lease_lost")
            log.warning("delivery_lease_lost", notifier_id=notifier_id, alert_id=row.alert_id)
        return True, 0.0

    async def _retry(self, row: OutboxRow, cfg: NotifierConfig, error: str, retry_after: float | None,
                     rate_limited: bool = False) -> float:
        if row.attempts >= cfg.max_attempts:
            await self._dead(row, cfg, f"gave up after {row.attempts} attempts: {error}")
            return 0.0
        delay = backoff_delay(row.attempts, self.config.backoff_initial, self.config.backoff_max, retry_after)
        await self.store.run(self.store.mark_retry, row, self.clock(), self.clock() + delay, error)
        counters.delivery(row.notifier_id, "retry")
        log.warning("delivery_failed", notifier_id=row.notifier_id, alert_id=row.alert_id, attempt=row.attempts,
                    error=error, retry_in_s=round(delay, 1))
        return delay if rate_limited else 0.0

    async def _dead(self, row: OutboxRow, cfg: NotifierConfig, error: str) -> None:
        await self.store.run(self.store.mark_dead, row, self.clock(), error, cfg.fallback)
        counters.delivery(row.notifier_id, "dead")
        log.error("alert_dead_lettered", notifier_id=row.notifier_id, alert_id=row.alert_id, error=error,
                  fallback=cfg.fallback)
        if cfg.fallback:
            self.wake()
