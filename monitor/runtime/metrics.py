"""Prometheus exposition and /healthz: the counters (`counters.py`, counted where things happen) plus gauges.

Gauges (open alerts, queue depth, parked sources) are read from the store on each scrape through a callback, so
they are never stale; so is the state of each acknowledgement listener, from the running daemon. A structlog
processor counts warning-or-worse log lines by event name (a log metric, so it is keyed by the log's own names).
`serve` answers GET /metrics and GET /healthz on a small asyncio HTTP listener, bound to loopback by default.
"""
from __future__ import annotations

import asyncio
import inspect
import math
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from . import counters
from .acklinks import AckLinks, confirm_page, done_page
from .counters import PREFIX, label

if TYPE_CHECKING:
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
}
WARNING_LEVELS = {"warning", "error", "critical", "exception"}
LEVELS = {"debug": 10, "info": 20, "warning": 30, "warn": 30, "error": 40, "exception": 40, "critical": 50}
_METRIC_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


class _Counters(Collector):
    """The process-wide counters, inside each daemon's registry."""

    def collect(self):
        yield from counters.REGISTRY.collect()


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
    """Each acknowledgement listener that has polled at least once: up or failing, failures in a row, and the
    kind of its last error (the full reason is in the log and `status`)."""

    def __init__(self, states: ListenerStates) -> None:
        self._states = states

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(PREFIX + "ack_listener_up", "1 while the acknowledgement listener works, 0 while "
                               "it fails.", labels=["listener"])
        failures = GaugeMetricFamily(PREFIX + "ack_listener_consecutive_failures", "Failed polls in a row.",
                                     labels=["listener"])
        error = GaugeMetricFamily(PREFIX + "ack_listener_error", "1 while the listener fails, labelled with the "
                                  "kind of its last error.", labels=["listener", "kind"])
        for key, state in self._states().items():
            if state.since is None:  # not polled yet
                continue
            up.add_metric([label(key)], 1.0 if state.ok else 0.0)
            failures.add_metric([label(key)], state.failures)
            if not state.ok:
                error.add_metric([label(key), state.error_kind or "unknown"], 1.0)
        yield from (up, failures, error)


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


def count_warnings(_logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: count warning-or-worse events by level and name; pass the event on unchanged."""
    name = event.get("event")
    if method in WARNING_LEVELS and isinstance(name, str):
        counters.log_event(method, name)
    return event


def drop_below(level: str) -> Callable[[Any, str, dict[str, Any]], dict[str, Any]]:
    """structlog processor that drops events under `level`."""
    threshold = LEVELS.get(level.lower(), 20)

    def processor(_logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
        if LEVELS.get(method, 20) < threshold:
            raise structlog.DropEvent
        return event
    return processor


def store_gauges(store: Any, clock: Callable[[], float] = time.time) -> Callable[[], Awaitable[dict[str, float]]]:
    """The gauge callback for a `monitor.store.Store`, read on the store's own thread."""
    def read() -> dict[str, float]:
        alerts = store.open_alerts(clock())
        totals: dict[str, int] = {}
        for statuses in store.outbox_counts().values():
            for status, n in statuses.items():
                totals[status] = totals.get(status, 0) + n
        states = store.source_states()
        return {"open_alerts": alerts["open"], "late_alerts": alerts["late"],
                "outbox_pending": totals.get("pending", 0), "outbox_sending": totals.get("sending", 0),
                "outbox_dead": totals.get("dead", 0),
                "sources_failing": sum(1 for s in states if s.error_count and not s.parked),
                "sources_parked": sum(1 for s in states if s.parked)}

    async def gauges() -> dict[str, float]:
        return await store.run(read)
    return gauges


# -- HTTP ---------------------------------------------------------------------------------------------------

MAX_REQUEST = 8192
READ_TIMEOUT = 5.0
HEALTH_TIMEOUT = 5.0
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


async def serve(metrics: Metrics, host: str = "127.0.0.1", port: int = 9464,
                health: HealthCheck | None = None, ack_links: AckLinks | None = None) -> asyncio.Server:
    """Start the listener for GET /metrics, GET /healthz and (with ack_links) /ack/<alert id>?t=<token>;
    close the returned server to stop it."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await _handle(reader, writer, metrics, health, ack_links)
        except Exception:
            pass  # a broken client connection is its own problem
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except Exception:
                pass

    server = await asyncio.start_server(handle, host, port, limit=MAX_REQUEST)
    log.info("metrics_listening", address=f"{host}:{server.sockets[0].getsockname()[1]}")
    return server


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, metrics: Metrics,
                  health: HealthCheck | None, ack_links: AckLinks | None = None) -> None:
    try:
        async with asyncio.timeout(READ_TIMEOUT):
            head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
        return await _respond(writer, 400, b"bad request\n")
    request = _parse(head)
    if request is None:
        return await _respond(writer, 400, b"bad request\n")
    method, path, headers = request
    if ack_links is not None and path.startswith("/ack/"):
        return await _ack(writer, method, path, headers.get(":query", ""), ack_links)
    if path not in ("/metrics", "/healthz"):
        return await _respond(writer, 404, b"not found\n", head_only=method == "HEAD")
    if method not in ("GET", "HEAD"):
        return await _respond(writer, 405, b"method not allowed\n", extra={"Allow": "GET, HEAD"})
    if path == "/metrics":
        body, content_type = await metrics.render(headers.get("accept", ""))
        return await _respond(writer, 200, body, content_type, head_only=method == "HEAD")
    ok = await _healthy(health)
    await _respond(writer, 200 if ok else 503, b"ok\n" if ok else b"unhealthy\n", head_only=method == "HEAD")


def _parse(head: bytes) -> tuple[str, str, dict[str, str]] | None:
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
    except ValueError:
        return None
    if not version.startswith("HTTP/1.") or not method.isalpha():
        return None
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    path, _, query = target.partition("?")
    headers[":query"] = query
    return method.upper(), path, headers


async def _ack(writer: asyncio.StreamWriter, method: str, path: str, query: str, ack_links: AckLinks) -> None:
    """GET shows a button (link scanners only look), POST acknowledges; a bad token is a 404."""
    alert_id = unquote(path.removeprefix("/ack/"))
    token = parse_qs(query).get("t", [""])[0]
    if not alert_id or not ack_links.valid(alert_id, token):
        return await _respond(writer, 404, b"not found\n")
    html_type = "text/html; charset=utf-8"
    if method in ("GET", "HEAD"):
        return await _respond(writer, 200, confirm_page(alert_id, token), html_type, head_only=method == "HEAD")
    if method != "POST":
        return await _respond(writer, 405, b"method not allowed\n", extra={"Allow": "GET, HEAD, POST"})
    return await _respond(writer, 200, done_page(await ack_links.acknowledge(alert_id)), html_type)


async def _healthy(health: HealthCheck | None) -> bool:
    if health is None:
        return True
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT):
            return bool(await health())
    except Exception:
        return False


async def _respond(writer: asyncio.StreamWriter, status: int, body: bytes,
                   content_type: str = "text/plain; charset=utf-8", head_only: bool = False,
                   extra: Mapping[str, str] | None = None) -> None:
    headers = {"Content-Type": content_type, "Content-Length": str(len(body)), "Connection": "close",
               "Cache-Control": "no-store", **(extra or {})}
    head = f"HTTP/1.1 {status} {REASONS[status]}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(head.encode("latin-1") + b"\r\n" + (b"" if head_only else body))
    await writer.drain()
