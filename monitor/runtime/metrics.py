"""Prometheus exposition and /healthz: the counters (`counters.py`, counted where things happen) plus gauges.

Gauges (open alerts, queue depth, parked sources) are read from the store on each scrape through a callback, so
they are never stale; so is the state of each acknowledgement listener, from the running daemon.
`serve` answers GET /metrics and GET /healthz (aiohttp), bound to loopback by default.
"""
from __future__ import annotations

import asyncio
import inspect
import math
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from . import counters
from .acklinks import AckLinks, confirm_page, done_page
from .counters import PREFIX, label

if TYPE_CHECKING:
    from aiohttp import web

    from ..acks import ListenerState

log = structlog.get_logger()

GaugeSource = Callable[[], "Mapping[str, float] | Awaitable[Mapping[str, float]]"]
ListenerStates = Callable[[], "Mapping[str, ListenerState]"]
HealthCheck = Callable[[], Awaitable[bool]]

GAUGE_HELP = {
    "open_alerts": "Alerts not yet acknowledged.",
    "late_alerts": "Unacknowledged alerts past their respond-by time.",
    "outbox_pending": "Outbox rows waiting to be sent (all destinations).",
    "outbox_sending": "Outbox rows claimed by a sender right now.",
    "outbox_dead": "Dead-lettered outbox rows (all destinations).",
    "sources_failing": "Sources whose last poll failed.",
    "sources_parked": "Sources parked after repeated errors.",
    "store_failing": "1 while the database fails (disk full, read-only, locked, corrupt, replaced).",
}
_METRIC_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


class _Counters(Collector):
    """The process-wide counters (counters.py) as Prometheus metric families."""

    def collect(self) -> Iterator[CounterMetricFamily | HistogramMetricFamily]:
        for family in counters.FAMILIES:
            if family.buckets:
                yield _histogram(family)
            else:
                metric = CounterMetricFamily(family.name, family.help, labels=family.labels)
                for label_values, value in family.snapshot().items():
                    metric.add_metric(label_values, value)
                yield metric


def _histogram(family: counters.Family) -> HistogramMetricFamily:
    metric = HistogramMetricFamily(family.name, family.help, labels=family.labels)
    bounds = [*map(floatToGoString, family.buckets), "+Inf"]
    for label_values, series in family.snapshot().items():
        cumulative = [sum(series[:i + 1]) for i in range(len(bounds))]
        metric.add_metric(label_values, list(zip(bounds, cumulative)), sum_value=series[-1])
    return metric


class _StoreGauges(Collector):
    """Exposes the latest snapshot taken by `Metrics.refresh`; a failed read shows as gauges_up 0."""

    def __init__(self) -> None:
        self.values: Mapping[str, float] = {}
        self.up = 0.0

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(PREFIX + "gauges_up", "1 when the store gauges were read for this scrape.",
                                value=self.up)
        for key, value in self.values.items():
            yield GaugeMetricFamily(PREFIX + key, GAUGE_HELP.get(key, key.replace("_", " ")), value=value)


class _AckListenerGauges(Collector):
    """Each acknowledgement listener that has polled at least once: up or failing, failures in a row, the kind of
    its last error (the full reason is in the log and `status`) and when it last worked."""

    def __init__(self, states: ListenerStates) -> None:
        self._states = states

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(PREFIX + "ack_listener_up", "1 while the acknowledgement listener works, 0 while "
                               "it fails.", labels=["listener"])
        failures = GaugeMetricFamily(PREFIX + "ack_listener_consecutive_failures", "Failed polls in a row.",
                                     labels=["listener"])
        error = GaugeMetricFamily(PREFIX + "ack_listener_error", "1 while the listener fails, labelled with the "
                                  "kind of its last error.", labels=["listener", "kind"])
        last_ok = GaugeMetricFamily(PREFIX + "ack_listener_last_success_timestamp_seconds", "When the listener "
                                    "last polled successfully, in Unix time.", labels=["listener"])
        for key, state in self._states().items():
            if state.since is None:  # not polled yet
                continue
            up.add_metric([label(key)], 1.0 if state.ok else 0.0)
            failures.add_metric([label(key)], state.failures)
            if not state.ok:
                error.add_metric([label(key), state.error_kind or "unknown"], 1.0)
            if state.last_ok_at is not None:
                last_ok.add_metric([label(key)], state.last_ok_at)
        yield from (up, failures, error, last_ok)


class Metrics:
    """The process's counters, plus gauges read from `gauges()` and `ack_listeners()` at scrape time."""

    def __init__(self, gauges: GaugeSource | None = None, gauge_timeout: float = 5.0,
                 ack_listeners: ListenerStates | None = None):
        self.registry = CollectorRegistry(auto_describe=True)
        self._gauges = gauges
        self._gauge_timeout = gauge_timeout
        self._store_gauges = _StoreGauges()
        self.registry.register(_Counters())
        self.registry.register(self._store_gauges)
        if ack_listeners is not None:
            self.registry.register(_AckListenerGauges(ack_listeners))

    # -- scraping -----------------------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Read the gauges for this scrape; a slow or failing read leaves them out and sets gauges_up 0."""
        if self._gauges is None:
            self._store_gauges.values, self._store_gauges.up = {}, 0.0
            return
        try:
            async with asyncio.timeout(self._gauge_timeout):
                values = self._gauges()
                if inspect.isawaitable(values):
                    values = await values
            self._store_gauges.values = {k: float(v) for k, v in values.items()
                                         if isinstance(k, str) and _METRIC_NAME.match(k) and _is_number(v)}
            self._store_gauges.up = 1.0
        except Exception as exc:
            self._store_gauges.values, self._store_gauges.up = {}, 0.0
            log.warning("metrics_gauges_failed", error=f"{type(exc).__name__}: {exc}")

    async def render(self, accept: str = "") -> tuple[bytes, str]:
        """The exposition body and its Content-Type, negotiated from the scraper's Accept header."""
        await self.refresh()
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def store_gauges(store: Any, clock: Callable[[], float] = time.time) -> Callable[[], Awaitable[dict[str, float]]]:
    """The gauge callback for a `monitor.store.Store`, read on the store's own thread."""
    def read() -> dict[str, float]:
        alerts = store.open_alerts(clock())
        totals: dict[str, int] = {}
        for statuses in store.outbox_counts(sent_since=math.inf).values():  # the queue, not the history
            for status, n in statuses.items():
                totals[status] = totals.get(status, 0) + n
        states = store.source_states()
        return {"open_alerts": alerts["open"], "late_alerts": alerts["late"],
                "outbox_pending": totals.get("pending", 0), "outbox_sending": totals.get("sending", 0),
                "outbox_dead": totals.get("dead", 0),
                "sources_failing": sum(1 for s in states if s.error_count and not s.parked),
                "sources_parked": sum(1 for s in states if s.parked),
                "store_failing": int(store.failure is not None)}

    async def gauges() -> dict[str, float]:
        return await store.run(read)
    return gauges


# -- HTTP ---------------------------------------------------------------------------------------------------

HEALTH_TIMEOUT = 5.0
NO_STORE = {"Cache-Control": "no-store"}


class Listener:
    """The running HTTP listener; `close()` stops it."""

    def __init__(self, runner: web.AppRunner):
        self._runner = runner

    @property
    def port(self) -> int:
        return self._runner.addresses[0][1]

    async def close(self) -> None:
        await self._runner.cleanup()


async def serve(metrics: Metrics, host: str = "127.0.0.1", port: int = 9464,
                health: HealthCheck | None = None, ack_links: AckLinks | None = None) -> Listener:
    """Start the listener (aiohttp) for GET /metrics, GET /healthz and, with ack_links, /ack/<alert id>?t=<token>
    (GET shows a button, since link scanners only look; POST acknowledges)."""
    from aiohttp import web  # noqa: PLC0415 - 0.2 s of start-up, paid only when the listener is on
    app = web.Application(client_max_size=64 * 1024)

    async def scrape(request: web.Request) -> web.Response:
        body, content_type = await metrics.render(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type, **NO_STORE})

    async def healthz(_request: web.Request) -> web.Response:
        ok = await _healthy(health)
        return web.Response(status=200 if ok else 503, text="ok\n" if ok else "unhealthy\n", headers=NO_STORE)

    app.router.add_get("/metrics", scrape)
    app.router.add_get("/healthz", healthz)
    if ack_links is not None:
        app.router.add_route("*", "/ack/{alert_id}", _ack_handler(ack_links))
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    listener = Listener(runner)
    log.info("metrics_listening", address=f"{host}:{listener.port}")
    return listener


def _ack_handler(ack_links: AckLinks):
    from aiohttp import web  # noqa: PLC0415

    async def ack(request: web.Request) -> web.Response:
        alert_id, token = request.match_info["alert_id"], request.query.get("t", "")
        if not ack_links.valid(alert_id, token):
            return web.Response(status=404, text="not found\n", headers=NO_STORE)
        if request.method in ("GET", "HEAD"):
            return _html(confirm_page(alert_id, token))
        if request.method != "POST":
            return web.Response(status=405, text="method not allowed\n", headers={"Allow": "GET, HEAD, POST"})
        return _html(done_page(await ack_links.acknowledge(alert_id)))
    return ack


def _html(body: bytes) -> web.Response:
    from aiohttp import web  # noqa: PLC0415
    return web.Response(body=body, headers={"Content-Type": "text/html; charset=utf-8", **NO_STORE})


async def _healthy(health: HealthCheck | None) -> bool:
    if health is None:
        return True
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT):
            return bool(await health())
    except Exception:
        return False
