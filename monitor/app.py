"""Composition root: settings -> objects, and the daemon's start / reload / stop order."""
from __future__ import annotations

import asyncio
import math
import os
import signal
import socket
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from . import registry
from .acks import AckListener, AckPoller, PublicReplyListener
from .classify import Triage, load_triage_model
from .delivery.worker import DeliveryWorker, Destination
from .errors import ConfigError
from .http import Client, make_client
from .matching import Matcher
from .pipeline import Pipeline
from .polling import Poller, PollReport
from .registry import PluginContext
from .routing.escalation import escalate_due
from .runtime import systemd
from .runtime.acklinks import AckLinks
from .settings import Settings, SourceConfig, StreamConfig, load_settings
from .sources.base import Source, StreamSource
from .store import Store, StoreError, open_store
from .streaming import StreamRunner
from .workers import PipelineWorkers

if TYPE_CHECKING:
    from .runtime.metrics import Listener

log = structlog.get_logger()
ESCALATION_TICK = 30.0
ACK_TICK = 15.0
RETENTION_TICK = 600.0
PRUNE_BATCH = 500
STOP_GRACE = 10.0  # seconds a stop waits for the polls in flight to finish and commit


@dataclass(frozen=True)
class Components:
    """Everything built from one version of the settings; replaced whole on reload."""
    settings: Settings
    pipeline: Pipeline
    sources: dict[str, tuple[Source, SourceConfig]]
    streams: dict[str, tuple[StreamSource, StreamConfig]]
    destinations: dict[str, Destination]


def build_pipeline(settings: Settings) -> Pipeline:
    source_brands = {sid: set(cfg.brands) for sid, cfg in settings.sources.items() if cfg.brands}
    brands = {b.name: b for b in settings.brands}
    source_about = {sid: brands[cfg.about] for sid, cfg in settings.sources.items() if cfg.about}
    own = {(a.platform, a.handle) for b in settings.brands for a in b.own_accounts}
    triage = Triage(settings.triage, model=load_triage_model(settings.triage.model))
    return Pipeline(Matcher(settings.brands), triage, settings.routes, source_brands, settings.mutes,
                    settings.triage.replies, source_about, own, {b.name: b.reply_language for b in settings.brands})


def build_components(settings: Settings, http: Client) -> Components:
    """Sources reach public addresses and the kind of private one their URL names; the operator's own
    destinations, and sources with `allow_private_network`, reach private networks too."""
    public = PluginContext(http=http, brands=tuple(settings.brands))
    private = PluginContext(http=http.with_private_network(), brands=public.brands)
    sources, streams = {}, {}
    for source_id, cfg in settings.sources.items():
        if cfg.enabled:
            plugin = registry.SOURCES[cfg.type]
            source = plugin.factory(source_id, cfg, private if cfg.allow_private_network else public)
            (streams if isinstance(cfg, StreamConfig) else sources)[source_id] = (source, cfg)
    own = PluginContext(http=http.for_destinations(), brands=public.brands)
    destinations = {nid: Destination(registry.NOTIFIERS[cfg.type].factory(nid, cfg, own), cfg)
                    for nid, cfg in settings.notifiers.items()}
    return Components(settings, build_pipeline(settings), sources, streams, destinations)


def build_ack_listeners(settings: Settings, http: Client, store: Store) -> list[AckListener]:
    """A listener for every notifier whose plugin reads acknowledgements back (of several sharing one stream,
    the first), and one per account of the brands' own."""
    ctx = PluginContext(http=http, brands=tuple(settings.brands))
    listeners: list[AckListener] = []
    streams: set[object] = set()
    for notifier_id, cfg in settings.notifiers.items():
        make = registry.NOTIFIERS[cfg.type].ack_listener
        listener = make(notifier_id, cfg, ctx, store) if make else None
        stream = getattr(listener, "stream", None)
        if listener is None or (stream is not None and stream in streams):
            continue
        streams.add(stream)
        listeners.append(listener)
    accounts = {a for brand in settings.brands for a in brand.own_accounts}
    return listeners + [PublicReplyListener(a, settings.public_replies, http, store) for a in sorted(accounts)]


class Daemon:
    def __init__(self, config_path: Path, settings: Settings):
        self.config_path = config_path
        self.store = open_store(settings.store)
        self.http = make_client(per_host=settings.polling.per_host, proxy=settings.polling.proxy)
        self.components = build_components(settings, self.http)
        self.ack_links = _ack_links(settings, self.store)
        self.worker = DeliveryWorker(self.store, self.components.destinations, settings.delivery,
                                     ack_url=self.ack_links.url_for if self.ack_links else None)
        self.poller = Poller(self.store, self.components.pipeline, settings.polling, on_queued=self.worker.wake,
                             incidents=settings.incidents)
        self._workers = _pipeline_workers(settings, self.components.pipeline)
        self.scheduler = AsyncIOScheduler(timezone=timezone.utc)
        self.acks = AckPoller(build_ack_listeners(settings, self.http.for_destinations(), self.store), ACK_TICK,
                              self.store)
        self._metrics_server: Listener | None = None
        self._poll_slots = asyncio.Semaphore(settings.polling.concurrency)
        self._stop = asyncio.Event()
        self._reloading = asyncio.Lock()
        self._polls: set[asyncio.Task] = set()
        self.streams: dict[str, StreamRunner] = {}
        self._catching_up: set[str] = set()  # fallback sources owed one poll: their stream (re)connected
        self.daemon_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._acks_running = False
        self._held: dict[str, float] = {}  # lease -> until, as this daemon last took or renewed it
        self._handed_over: dict[str, float] = {}  # source lease -> until when it is left to the other daemons

    # -- lifecycle ----------------------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._stop.set)
        loop.add_signal_handler(signal.SIGINT, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload()))
        await self.start()
        watchdog = asyncio.create_task(self._watchdog())
        await self._stop.wait()
        watchdog.cancel()
        await self.stop()

    async def start(self) -> None:
        self.store.lock()
        version = await self.store.run(self.store.migrate)
        recovered = await self.store.run(self.store.recover_in_flight)
        if recovered:
            log.warning("in_flight_recovered", alerts=recovered)
        await self.store.run(self.store.register_daemon, self.daemon_id, socket.gethostname(), os.getpid(),
                             time.time())
        await self._schedule_all()
        await self._start_streams()
        lease = self.components.settings.store.lease
        self.scheduler.add_job(self._heartbeat_job, IntervalTrigger(seconds=lease / 3), id="heartbeat",
                               coalesce=True, max_instances=1)
        self.scheduler.add_job(self._retention_job, IntervalTrigger(seconds=RETENTION_TICK), id="retention",
                               coalesce=True, max_instances=1,
                               next_run_time=datetime.fromtimestamp(time.time() + 60, timezone.utc))
        self.scheduler.add_job(self._escalation_job, IntervalTrigger(seconds=ESCALATION_TICK), id="escalation",
                               coalesce=True, max_instances=1)
        self.scheduler.start()
        self.worker.start()
        await self._start_acks_if_ours()
        metrics = self.components.settings.metrics
        if metrics.enabled or self.ack_links:
            from .runtime.metrics import Metrics, serve, store_gauges  # noqa: PLC0415 - the client library only when on
            host, port = metrics.host_port
            scrape = Metrics(store_gauges(self.store), ack_listeners=lambda: self.acks.states)
            try:
                self._metrics_server = await serve(scrape, host, port, health=self.healthy, ack_links=self.ack_links)
            except OSError as exc:  # port taken, address not on this machine: say which setting, in one line
                reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
                raise ConfigError([f"{self.config_path}: metrics.listen {metrics.listen}: {reason}"]) from None
        log.info("daemon_started", store=self.store.name, schema=version,
                 sources=len(self.components.sources), notifiers=len(self.components.destinations))
        systemd.notify_ready(self._status_line())

    async def stop(self) -> None:
        systemd.notify_stopping()
        log.info("daemon_stopping")
        self._stop.set()
        self.scheduler.pause()  # no new runs; shutdown() would cancel the polls in flight at once
        await self.acks.stop()
        await self._stop_streams()
        if self._polls:
            _, unfinished = await asyncio.wait(self._polls, timeout=STOP_GRACE)
            for task in unfinished:  # nothing of an unfinished poll is committed: it is simply re-done
                task.cancel()
            if unfinished:
                await asyncio.wait(unfinished)
                log.info("polls_cancelled", count=len(unfinished),
                         sources=sorted(task.get_name().removeprefix("poll:") for task in unfinished))
        self.scheduler.shutdown(wait=False)
        await self.worker.stop()
        if self._workers is not None:
            self._workers.close()
        if self._metrics_server is not None:
            await self._metrics_server.close()
        await self.http.aclose()
        try:
            await self.store.run(self.store.stop_daemon, self.daemon_id, time.time())
        except StoreError:
            pass  # logged by the store; the leases expire by themselves
        self.store.close()
        log.info("daemon_stopped")

    def request_stop(self) -> None:
        self._stop.set()

    async def reload(self) -> None:
        """Re-read the config and swap it in (one reload at a time). An invalid config changes nothing; any
        failure is logged as reload_rejected, and systemd hears READY=1 again either way."""
        async with self._reloading:
            systemd.notify_reloading()
            try:
                await self._reload()
            except ConfigError as exc:
                log.error("reload_rejected", problems=exc.problems)
            except Exception as exc:  # a bug or a failing store must not leave systemd waiting for READY=1
                log.error("reload_rejected", problems=[f"{self.config_path}: {type(exc).__name__}: {exc}"],
                          exc_info=True)
            systemd.notify_ready(self._status_line())

    async def _reload(self) -> None:
        settings = await asyncio.to_thread(load_settings, self.config_path)  # a 1 MB file takes seconds
        if settings.store.location() != self.components.settings.store.location():
            raise ConfigError([f"{self.config_path}: store.path/url cannot change on reload; restart instead"])
        components = build_components(settings, self.http)
        acks = AckPoller(build_ack_listeners(settings, self.http.for_destinations(), self.store), ACK_TICK,
                         self.store)
        await self.acks.stop()
        self.components, self.acks = components, acks
        if self._acks_running:
            await acks.start()
        self.poller.pipeline = components.pipeline
        if self._workers is not None:
            self._workers.close()  # batches in hand finish; new ones go to workers with the new config
        self._workers = _pipeline_workers(settings, components.pipeline)
        self.poller.polling = settings.polling
        self.poller.incidents = settings.incidents
        await self.worker.replace_destinations(components.destinations)
        self.worker.config = settings.delivery
        for job in self.scheduler.get_jobs():
            if job.id.startswith("poll:"):
                job.remove()
        await self._stop_streams()
        await self._schedule_all()
        await self._start_streams()
        log.info("config_reloaded", sources=len(components.sources), notifiers=len(components.destinations))

    # -- polling ----------------------------------------------------------------------------------------

    async def _schedule_all(self) -> None:
        """One interval job per source; the first run honours persisted backoff, except that a parked
        source is tried at once (a restart or reload is usually someone fixing it)."""
        states = {s.source_id: s for s in await self.store.run(self.store.source_states)}
        now = time.time()
        for source_id, (_, cfg) in self.components.sources.items():
            state = states.get(source_id)
            due = now if state is None or state.parked else max(now, state.next_poll_at)
            self.scheduler.add_job(
                self._poll_job, IntervalTrigger(seconds=cfg.every, jitter=_jitter(cfg)), args=[source_id],
                id=f"poll:{source_id}", next_run_time=datetime.fromtimestamp(due, timezone.utc),
                coalesce=True, max_instances=1, misfire_grace_time=None)

    async def _poll_job(self, source_id: str) -> None:
        task = asyncio.current_task()
        task.set_name(f"poll:{source_id}")  # stop() names the polls it cut short
        self._polls.add(task)
        try:
            async with self._poll_slots:
                entry = self.components.sources.get(source_id)
                if entry is None or self._stop.is_set() or self._stream_covers(source_id):
                    return  # a poll still queued when stopping is not started
                if not await self._claim(f"source:{source_id}"):  # another daemon polls it
                    return
                report = await self.poller.poll(source_id, *entry)
                if report.ok:
                    self._catching_up.discard(source_id)
            self._defer_if_needed(source_id, report)
        except asyncio.CancelledError:  # cut short by stop(), which logs it; nothing was committed: it is re-done
            pass
        except StoreError:
            pass  # logged by the store when it started failing; nothing of this poll was committed: it is re-done
        finally:
            self._polls.discard(task)

    # -- streams ----------------------------------------------------------------------------------------------

    async def _start_streams(self) -> None:
        """Start each stream not running here whose lease this daemon gets (one connection per stream however many
        daemons share the store)."""
        settings = self.components.settings
        for source_id, (source, cfg) in self.components.streams.items():
            if source_id in self.streams or not await self._claim(f"stream:{source_id}"):
                continue
            runner = StreamRunner(source_id, source, cfg, self.poller, settings.polling.parked_retry,
                                  on_connected=lambda cfg=cfg: self._catch_up(cfg),
                                  on_fallback=lambda cfg=cfg: self._poll_soon(cfg.fallback))
            self.streams[source_id] = runner
            runner.start()

    async def _stop_lost_streams(self) -> None:
        for source_id in [s for s in self.streams if f"stream:{s}" not in self._held]:
            log.warning("stream_lease_lost", source_id=source_id, daemon=self.daemon_id)
            await self.streams.pop(source_id).stop()

    async def _stop_streams(self) -> None:
        """Each stream commits what it has in hand, then closes (a reload reconnects: Jetstream resumes from its
        cursor, Mastodon's fallback catches up)."""
        await asyncio.gather(*(runner.stop() for runner in self.streams.values()))
        self.streams = {}

    def _stream_covers(self, source_id: str) -> bool:
        """A fallback source is not polled while its stream is live, except once after a stream that does not
        replay (re)connected."""
        return source_id not in self._catching_up and any(
            runner.config.fallback == source_id and runner.live for runner in self.streams.values())

    def _catch_up(self, cfg: StreamConfig) -> None:
        if cfg.fallback and not cfg.replays:
            self._catching_up.add(cfg.fallback)
            self._poll_soon(cfg.fallback)

    def _poll_soon(self, source_id: str | None) -> None:
        job = self.scheduler.get_job(f"poll:{source_id}") if source_id else None
        if job is not None:
            job.modify(next_run_time=datetime.now(timezone.utc))

    async def _escalation_job(self) -> None:
        if not await self._claim("timer:escalation"):
            return
        try:
            if await escalate_due(self.store, self.components.settings.routes, time.time()):
                self.worker.wake()
        except StoreError:
            pass  # logged by the store when it started failing
        except Exception:
            log.exception("escalation_failed")

    async def _retention_job(self) -> None:
        """Prune history in batches of PRUNE_BATCH rows per step, each a short transaction, so that polls and
        deliveries get the store between them."""
        keep, totals = self.components.settings.store.retention, Counter()
        if not await self._claim("timer:retention"):
            return
        try:
            while True:
                done = await self.store.run(self.store.prune, time.time(), keep, PRUNE_BATCH)
                totals.update(done)
                if max(done.values()) < PRUNE_BATCH:
                    break
        except StoreError:
            pass  # logged by the store when it started failing
        if sum(totals.values()):
            log.info("history_pruned", **totals)

    # -- sharing the work with other daemons (PostgreSQL; with SQLite every lease is ours) ----------------

    async def _claim(self, lease: str) -> bool:
        """Take or renew a lease: a source to poll, a timer to run. False while another daemon holds it. A lease the
        heartbeat renewed lately is ours without asking the store again (one write per beat, not one per poll)."""
        now, seconds = time.time(), self.components.settings.store.lease
        if self._held.get(lease, 0.0) > now + seconds / 3:
            return True
        if self._handed_over.get(lease, 0.0) > now:
            return False
        try:
            taken = await self.store.run(self.store.take_lease, lease, self.daemon_id, now, seconds)
        except StoreError:
            return False  # logged by the store when it started failing
        if taken:
            self._held[lease] = now + seconds
        else:
            self._held.pop(lease, None)
        return taken

    async def _heartbeat_job(self) -> None:
        """Renew every lease this daemon holds; hand the acknowledgement listeners and streams over if their lease
        was lost (a pause longer than the lease), take them over when they are free."""
        now, seconds = time.time(), self.components.settings.store.lease
        try:
            renewed = await self.store.run(self.store.heartbeat, self.daemon_id, now, seconds)
        except StoreError:
            return  # logged by the store when it started failing
        self._held = dict.fromkeys(renewed, now + seconds)
        await self._hand_over_surplus(now, seconds)
        if self._acks_running and "timer:acks" not in self._held:
            log.warning("ack_listeners_lease_lost", daemon=self.daemon_id)
            self._acks_running = False
            await self.acks.stop()
        await self._stop_lost_streams()
        await self._start_acks_if_ours()
        await self._start_streams()

    async def _hand_over_surplus(self, now: float, seconds: float) -> None:
        """Holding more sources than a fair share (a daemon that started later holds few): give the surplus up and
        leave it to the others for one lease period; one that nobody takes comes back here after that. (A SQLite store
        has one daemon: its lock keeps others out.)"""
        if not self.store.multi_daemon:
            return
        try:
            daemons, sources = await self.store.run(self.store.lease_census, now, seconds)
        except StoreError:
            return
        mine = sorted(name for name in self._held if name.startswith("source:"))
        share = math.ceil(sources / max(daemons, 1))
        if daemons < 2 or len(mine) <= share:
            return
        surplus = mine[share:]
        try:
            await self.store.run(self.store.release_leases, self.daemon_id, surplus)
        except StoreError:
            return
        for name in surplus:
            del self._held[name]
            self._handed_over[name] = now + seconds
        log.info("sources_handed_over", count=len(surplus), daemons=daemons, daemon=self.daemon_id)

    async def _start_acks_if_ours(self) -> None:
        """One daemon at a time listens for acknowledgements (chat callbacks must not be consumed twice)."""
        if not self._acks_running and await self._claim("timer:acks"):
            self._acks_running = True
            await self.acks.start()

    def _defer_if_needed(self, source_id: str, report: PollReport) -> None:
        """Backoff, parking and server-requested delays push the next run past the regular interval."""
        job = self.scheduler.get_job(f"poll:{source_id}")
        if job is None or report.next_poll_at is None:
            return
        wanted = datetime.fromtimestamp(report.next_poll_at, timezone.utc)
        if job.next_run_time is not None and wanted > job.next_run_time:
            job.modify(next_run_time=wanted)

    async def _watchdog(self) -> None:
        interval = systemd.watchdog_interval()
        if interval is None:
            return
        while True:
            await asyncio.sleep(interval)
            problem = await self.problem()
            if problem is None:
                systemd.notify_watchdog()
                systemd.notify_status(self._status_line())
            else:  # no WATCHDOG=1: systemd restarts the service when WatchdogSec runs out
                systemd.notify_status(f"unhealthy, waiting for the watchdog to restart it: {problem}")

    async def healthy(self) -> bool:
        return await self.problem() is None

    async def problem(self) -> str | None:
        """What makes the daemon unhealthy, None when nothing does: the event loop runs (we are here) and the
        store answers with no unresolved failure. Gates the watchdog and /healthz."""
        try:
            async with asyncio.timeout(5):
                await self.store.run(self.store.check)
        except StoreError as exc:
            return str(exc)
        except TimeoutError:
            return f"store {self.store.name}: no answer within 5s"
        except Exception as exc:
            return f"store {self.store.name}: {type(exc).__name__}: {exc}"
        return None

    def _status_line(self) -> str:
        return (f"polling {len(self.components.sources)} sources, streaming {len(self.components.streams)}, "
                f"{len(self.components.destinations)} destinations")


def _ack_links(settings: Settings, store: Store) -> AckLinks | None:
    cfg = settings.ack_links
    return AckLinks(cfg.secret.get_secret_value(), cfg.public_url, store) if cfg.public_url and cfg.secret else None


def _pipeline_workers(settings: Settings, pipeline: Pipeline) -> PipelineWorkers | None:
    workers = settings.polling.workers
    return PipelineWorkers(settings, workers, pipeline) if workers > 1 else None


def _jitter(cfg: SourceConfig) -> float:
    return cfg.jitter if cfg.jitter is not None else min(cfg.every * 0.1, 60.0)


async def run_once(settings: Settings, dry_run: bool = False) -> list[PollReport]:
    """Poll every enabled polling source once (streams are named as skipped); then (unless dry_run) deliver
    everything that is due and return."""
    async with make_client(per_host=settings.polling.per_host, proxy=settings.polling.proxy) as http:
        components = build_components(settings, http)
        for source_id in components.streams:
            print(f"{source_id}: a stream, skipped: `once` polls; streams are listened to by `brand-monitor run`")
        if dry_run:
            return await asyncio.gather(*(_dry_poll(sid, src, components.pipeline)
                                          for sid, (src, _) in components.sources.items()))
        store = open_store(settings.store)
        try:
            store.lock()
            await store.run(store.migrate)
            await store.run(store.recover_in_flight)
            worker = DeliveryWorker(store, components.destinations, settings.delivery)
            poller = Poller(store, components.pipeline, settings.polling, incidents=settings.incidents)
            holder = f"once:{socket.gethostname()}:{os.getpid()}"
            longest = max([settings.store.lease, *(poller.budget(cfg) for _, cfg in components.sources.values())])
            ours = await _take_source_leases(store, holder, list(components.sources), longest)
            try:
                reports = await asyncio.gather(*(poller.poll(sid, src, cfg)
                                                 for sid, (src, cfg) in components.sources.items() if sid in ours))
            finally:
                await store.run(store.release_leases, holder, [f"source:{sid}" for sid in ours])
            for report in reports:
                print(f"{report.source_id}: " + (f"{report.posts} posts, {report.new_posts} new, "
                                                 f"{report.alerts} alerts" if report.ok else f"FAILED: {report.error}"))
            sent = await worker.flush()
            print(f"delivered {sent} alert(s)")
            return reports
        finally:
            store.close()


async def _take_source_leases(store: Store, holder: str, source_ids: list[str], lease: float) -> set[str]:
    """On a store several daemons share, the sources `once` may poll now: those no daemon holds the lease of
    (a daemon polling the same source at the same time would race it for the source's cursor)."""
    if not store.multi_daemon:
        return set(source_ids)  # locked: no daemon is running on it
    ours = set()
    for source_id in source_ids:
        if await store.run(store.take_lease, f"source:{source_id}", holder, time.time(), lease):
            ours.add(source_id)
        else:
            print(f"{source_id}: skipped: a running daemon polls it")
    return ours


async def _dry_poll(source_id: str, source: Source, pipeline: Pipeline) -> PollReport:
    from .errors import describe
    from .sources.base import SourceState

    try:
        result = await source.fetch(SourceState(source_id=source_id))
    except Exception as exc:
        print(f"{source_id}: FAILED: {describe(exc)}")
        return PollReport(source_id, False, error=describe(exc))
    now = datetime.now(timezone.utc)
    outcomes = [o for post in result.posts for o in pipeline.process(post, now)]
    print(f"{source_id}: {len(result.posts)} posts, {len(outcomes)} mentions")
    for o in outcomes:
        routes = ", ".join(o.routing.destinations) if o.routing else "no route"
        a = o.alert
        print(f"  [{a.assessment.severity}] {a.mention.brand}: {a.mention.post.title or a.mention.post.text[:80]!r}"
              f" -> {routes}")
    return PollReport(source_id, True, len(result.posts), len(result.posts), len(outcomes))


async def send_test_alert(settings: Settings, notifier_id: str, idempotency_key: str):
    from .notifiers.base import sample_alert

    async with make_client(proxy=settings.polling.proxy) as http:
        destination = build_components(settings, http).destinations[notifier_id]
        return await destination.notifier.send(sample_alert(settings.brands[0].name), idempotency_key)
