"""The daemon's counters and histograms, counted where things happen by explicit calls.

One process-wide registry, as Prometheus client libraries intend; `metrics.Metrics` exposes it together with the
gauges read at scrape time. Renaming a log event changes no metric here.
"""
from __future__ import annotations

import math

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

PREFIX = "brand_monitor_"
LABEL_MAX = 64
POST_TO_ALERT_BUCKETS = (10, 30, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600)
QUEUE_TO_SENT_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
ALERT_TO_ACK_BUCKETS = (60, 300, 600, 900, 1800, 2700, 3600, 7200, 14400, 28800, 86400)

disable_created_metrics()  # process-wide; *_created series only double the scrape for no use here
REGISTRY = CollectorRegistry(auto_describe=True)

_polls = Counter(PREFIX + "polls", "Polls by source and outcome (ok, error).", ["source", "outcome"],
                 registry=REGISTRY)
_posts = Counter(PREFIX + "posts", "Posts seen for the first time, by source.", ["source"], registry=REGISTRY)
_posts_fetched = Counter(PREFIX + "posts_fetched", "Items returned by sources, repeats included.", ["source"],
                         registry=REGISTRY)
_mentions = Counter(PREFIX + "mentions", "Alerts created, by brand, severity and category.",
                    ["brand", "severity", "category"], registry=REGISTRY)
_muted = Counter(PREFIX + "mentions_muted", "Mentions suppressed by a mute, by brand.", ["brand"], registry=REGISTRY)
_deliveries = Counter(PREFIX + "deliveries", "Delivery attempts by destination and outcome (sent, retry, dead, "
                      "lease_lost).", ["notifier", "outcome"], registry=REGISTRY)
_escalations = Counter(PREFIX + "escalations", "Escalation rounds queued.", registry=REGISTRY)
_log_events = Counter(PREFIX + "log_events", "Warning-or-worse log events, by level and event name.",
                      ["level", "event"], registry=REGISTRY)
_post_to_alert = Histogram(PREFIX + "post_to_alert_seconds", "From a post's publication to its alert reaching a "
                           "destination.", buckets=POST_TO_ALERT_BUCKETS, registry=REGISTRY)
_queue_to_sent = Histogram(PREFIX + "queue_to_sent_seconds", "From an alert being queued to it reaching a "
                           "destination.", ["notifier"], buckets=QUEUE_TO_SENT_BUCKETS, registry=REGISTRY)
_alert_to_ack = Histogram(PREFIX + "alert_to_ack_seconds", "From an alert being created to its acknowledgement, "
                          "by severity.", ["severity"], buckets=ALERT_TO_ACK_BUCKETS, registry=REGISTRY)


def poll(source_id: str, ok: bool, fetched: int = 0, new: int = 0) -> None:
    source = label(source_id)
    _polls.labels(source=source, outcome="ok" if ok else "error").inc()
    if fetched > 0:
        _posts_fetched.labels(source=source).inc(fetched)
    if new > 0:
        _posts.labels(source=source).inc(new)


def alert_created(brand: str, severity: str, category: str) -> None:
    _mentions.labels(brand=label(brand), severity=label(severity), category=label(category)).inc()


def alert_muted(brand: str) -> None:
    _muted.labels(brand=label(brand)).inc()


def delivery(notifier_id: str, outcome: str, queued_s: float | None = None, post_age_s: float | None = None) -> None:
    """One delivery attempt; a sent one also records how long it waited and how old its post was."""
    notifier = label(notifier_id)
    _deliveries.labels(notifier=notifier, outcome=outcome).inc()
    if queued_s is not None:
        _queue_to_sent.labels(notifier=notifier).observe(_seconds(queued_s))
    if post_age_s is not None:
        _post_to_alert.observe(_seconds(post_age_s))


def acknowledged(severity: str, seconds: float) -> None:
    _alert_to_ack.labels(severity=label(severity)).observe(_seconds(seconds))


def escalated() -> None:
    _escalations.inc()


def log_event(level: str, event: str) -> None:
    _log_events.labels(level=level, event=label(event)).inc()


def label(value: str) -> str:
    return (value or "unknown")[:LABEL_MAX]


def _seconds(value: float) -> float:
    return max(0.0, value) if math.isfinite(value) else 0.0  # clock skew must not go negative
