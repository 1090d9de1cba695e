"""Prometheus metrics and /healthz, derived from the daemon's structured log events.

The core code never calls a metric: a structlog processor hands every event dict to `Metrics.observe`,
which maps the known event names onto counters and histograms. Gauges (open alerts, queue depth, parked
sources) are read from the store on each scrape through a callback, so they are never stale.
`serve` answers GET /metrics and GET /healthz on a small asyncio HTTP listener, bound to loopback by default.
"""
from __future__ import annotations

import asyncio
import inspect
import math
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from .acklinks import AckLinks, confirm_page, done_page

log = structlog.get_logger()

GaugeSource = Callable[[], "Mapping[str, float] | Awaitable[Mapping[str, float]]"]
HealthCheck = Callable[[], Awaitable[bool]]

PREFIX = "brand_monitor_"
POST_TO_ALERT_BUCKETS = (10, 30, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600)
QUEUE_TO_SENT_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
ALERT_TO_ACK_BUCKETS = (60, 300, 600, 900, 1800, 2700, 3600, 7200, 14400, 28800, 86400)
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
LABEL_MAX = 64
WARNING_LEVELS = {"warning", "error", "critical", "exception"}
LEVELS = {"debug": 10, "info": 20, "warning": 30, "warn": 30, "error": 40, "exception": 40, "critical": 50}
_METRIC_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


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


class Metrics:
    """Counters and histograms fed by log events, gauges read from `gauges()` at scrape time."""

    def __init__(self, gauges: GaugeSource | None = None, gauge_timeout: float = 5.0):
        disable_created_metrics()  # process-wide; *_created series only double the scrape for no use here
        self.registry = CollectorRegistry(auto_describe=True)
        self._gauges = gauges
        self._gauge_timeout = gauge_timeout
        self._store_gauges = _StoreGauges()
        self._poll_failed_seen = False
        r = self.registry
        self.polls = Counter(PREFIX + "polls", "Polls by source and outcome (ok, error).", ["source", "outcome"],
                             registry=r)
        self.posts = Counter(PREFIX + "posts", "Posts seen for the first time, by source.", ["source"], registry=r)
        self.posts_fetched = Counter(PREFIX + "posts_fetched", "Items returned by sources, repeats included.",
                                     ["source"], registry=r)
        self.mentions = Counter(PREFIX + "mentions", "Alerts created, by brand, severity and category.",
                                ["brand", "severity", "category"], registry=r)
        self.muted = Counter(PREFIX + "mentions_muted", "Mentions suppressed by a mute, by brand.", ["brand"],
                             registry=r)
        self.deliveries = Counter(PREFIX + "deliveries", "Delivery attempts by destination and outcome "
                                  "(sent, retry, dead, lease_lost).", ["notifier", "outcome"], registry=r)
        self.escalations = Counter(PREFIX + "escalations", "Escalation rounds queued.", registry=r)
        self.log_events = Counter(PREFIX + "log_events", "Warning-or-worse log events, by level and event name.",
                                  ["level", "event"], registry=r)
        self.post_to_alert = Histogram(PREFIX + "post_to_alert_seconds", "From a post's publication to its alert "
                                       "reaching a destination.", buckets=POST_TO_ALERT_BUCKETS, registry=r)
        self.queue_to_sent = Histogram(PREFIX + "queue_to_sent_seconds", "From an alert being queued to it "
                                       "reaching a destination.", ["notifier"], buckets=QUEUE_TO_SENT_BUCKETS,
                                       registry=r)
        self.alert_to_ack = Histogram(PREFIX + "alert_to_ack_seconds", "From an alert being created to its "
                                      "acknowledgement, by severity.", ["severity"], buckets=ALERT_TO_ACK_BUCKETS,
                                      registry=r)
        r.register(self._store_gauges)
        self._handlers: dict[str, Callable[[Mapping[str, Any]], object]] = {
            "poll_completed": self._poll_completed,
            "poll_failed": self._poll_failed,
            "source_failed": self._source_failed,
            "alert_created": self._alert_created,
            "alert_muted": self._alert_muted,
            "alert_delivered": self._alert_delivered,
            "delivery_failed": lambda e: self._delivery(e, "retry"),
            "alert_dead_lettered": lambda e: self._delivery(e, "dead"),
            "delivery_lease_lost": lambda e: self._delivery(e, "lease_lost"),
            "alert_acknowledged": self._alert_acknowledged,
            "alert_escalated": lambda e: self.escalations.inc(),
        }

    # -- log events ---------------------------------------------------------------------------------------

    def observe(self, event: Mapping[str, Any]) -> None:
        """Count one log event; unknown or malformed events are ignored, and this never raises."""
        try:
            name = event.get("event")
            if not isinstance(name, str):
                return
            level = event.get("level")
            if isinstance(level, str) and level in WARNING_LEVELS:
                self.log_events.labels(level=level, event=_label(name)).inc()
            handler = self._handlers.get(name)
            if handler is not None:
                handler(event)
        except Exception:  # a metric must never break logging, whatever the event holds
            pass

    def processor(self, _logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
        """structlog processor: observe the event, pass it on unchanged."""
        self.observe(event)
        return event

    def _poll_completed(self, e: Mapping[str, Any]) -> None:
        source = _text(e, "source_id")
        posts, new = _count(e, "posts"), _count(e, "new_posts")
        if source is None:
            return
        self.polls.labels(source=source, outcome="ok").inc()
        if posts:
            self.posts_fetched.labels(source=source).inc(posts)
        if new:
            self.posts.labels(source=source).inc(new)

    def _poll_failed(self, e: Mapping[str, Any]) -> None:
        self._poll_failed_seen = True
        self._poll_error(e)

    def _source_failed(self, e: Mapping[str, Any]) -> None:
        # source_failed is logged only on the first failure of a streak; once the daemon emits poll_failed
        # (every failed poll) that event is the one counted, and this becomes a state-change notice only.
        if not self._poll_failed_seen:
            self._poll_error(e)

    def _poll_error(self, e: Mapping[str, Any]) -> None:
        source = _text(e, "source_id")
        if source is not None:
            self.polls.labels(source=source, outcome="error").inc()

    def _alert_created(self, e: Mapping[str, Any]) -> None:
        brand = _text(e, "brand")
        if brand is not None:
            self.mentions.labels(brand=brand, severity=_text(e, "severity") or "unknown",
                                 category=_text(e, "category") or "unknown").inc()

    def _alert_muted(self, e: Mapping[str, Any]) -> None:
        brand = _text(e, "brand")
        if brand is not None:
            self.muted.labels(brand=brand).inc()

    def _alert_delivered(self, e: Mapping[str, Any]) -> None:
        notifier = self._delivery(e, "sent")
        if notifier is None:
            return
        if (queued := _seconds(e, "latency_s")) is not None:
            self.queue_to_sent.labels(notifier=notifier).observe(queued)
        if (age := _seconds(e, "post_age_s")) is not None:
            self.post_to_alert.observe(age)

    def _delivery(self, e: Mapping[str, Any], outcome: str) -> str | None:
        notifier = _text(e, "notifier_id")
        if notifier is not None:
            self.deliveries.labels(notifier=notifier, outcome=outcome).inc()
        return notifier

    def _alert_acknowledged(self, e: Mapping[str, Any]) -> None:
        if (seconds := _seconds(e, "seconds_to_ack")) is not None:
            self.alert_to_ack.labels(severity=_text(e, "severity") or "unknown").observe(seconds)

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


def _text(e: Mapping[str, Any], key: str) -> str | None:
    value = e.get(key)
    return _label(value) if isinstance(value, str) and value else None


def _label(value: str) -> str:
    return value[:LABEL_MAX]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _count(e: Mapping[str, Any], key: str) -> int:
    value = e.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _seconds(e: Mapping[str, Any], key: str) -> float | None:
    value: Any = e.get(key)
    return max(0.0, float(value)) if _is_number(value) else None  # clock skew must not go negative


def drop_below(level: str) -> Callable[[Any, str, dict[str, Any]], dict[str, Any]]:
    """structlog processor that drops events under `level`, placed after `Metrics.processor`, so metrics see
    info events even when the log shows only warnings."""
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
                "sources_parked": sum(1 for s in states if s.parked),
                "store_failing": int(store.failure is not None)}

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
