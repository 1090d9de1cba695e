"""The daemon's counters and histograms, counted where things happen by explicit calls.

Plain Python on purpose: counting costs a dict update, and the Prometheus client library is imported only when
the metrics listener is on (`metrics.Metrics` turns these families into its metric families at scrape time).
Renaming a log event changes no metric here.
"""
from __future__ import annotations

import bisect
import math
import threading
from dataclasses import dataclass, field

PREFIX = "brand_monitor_"
LABEL_MAX = 64
POST_TO_ALERT_BUCKETS = (10, 30, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600)
QUEUE_TO_SENT_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
ALERT_TO_ACK_BUCKETS = (60, 300, 600, 900, 1800, 2700, 3600, 7200, 14400, 28800, 86400)
_LOCK = threading.Lock()  # the store and pipeline threads count too


@dataclass
class Family:
    """One metric: a counter (`buckets` empty) or a histogram. `values` maps label values to the count, or to
    [count per bucket (not cumulative; the last is +Inf), sum of observations]."""
    name: str
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()
    values: dict[tuple[str, ...], float | list[float]] = field(default_factory=dict)

    def inc(self, *label_values: str, amount: float = 1.0) -> None:
        with _LOCK:
            self.values[label_values] = self.values.get(label_values, 0.0) + amount

    def observe(self, value: float, *label_values: str) -> None:
        with _LOCK:
            series = self.values.setdefault(label_values, [0.0] * (len(self.buckets) + 2))
            series[bisect.bisect_left(self.buckets, value)] += 1
            series[-1] += value

    def snapshot(self) -> dict[tuple[str, ...], float | list[float]]:
        with _LOCK:
            return {key: list(value) if isinstance(value, list) else value for key, value in self.values.items()}


_polls = Family(PREFIX + "polls", "Polls by source and outcome (ok, error).", ("source", "outcome"))
_posts = Family(PREFIX + "posts", "Posts seen for the first time, by source.", ("source",))
_posts_fetched = Family(PREFIX + "posts_fetched", "Items returned by sources, repeats included.", ("source",))
_mentions = Family(PREFIX + "mentions", "Alerts created, by brand, severity and category.",
                   ("brand", "severity", "category"))
_muted = Family(PREFIX + "mentions_muted", "Mentions suppressed by a mute, by brand.", ("brand",))
_deliveries = Family(PREFIX + "deliveries", "Delivery attempts by destination and outcome (sent, retry, dead, "
                     "lease_lost).", ("notifier", "outcome"))
_escalations = Family(PREFIX + "escalations", "Escalation rounds queued.")
_log_events = Family(PREFIX + "log_events", "Warning-or-worse log events, by level and event name.",
                     ("level", "event"))
_post_to_alert = Family(PREFIX + "post_to_alert_seconds", "From a post's publication to its alert reaching a "
                        "destination.", buckets=POST_TO_ALERT_BUCKETS)
_queue_to_sent = Family(PREFIX + "queue_to_sent_seconds", "From an alert being queued to it reaching a "
                        "destination.", ("notifier",), QUEUE_TO_SENT_BUCKETS)
_alert_to_ack = Family(PREFIX + "alert_to_ack_seconds", "From an alert being created to its acknowledgement, "
                       "by severity.", ("severity",), ALERT_TO_ACK_BUCKETS)
FAMILIES = (_polls, _posts, _posts_fetched, _mentions, _muted, _deliveries, _escalations, _log_events,
            _post_to_alert, _queue_to_sent, _alert_to_ack)


def poll(source_id: str, ok: bool) -> None:
    _polls.inc(label(source_id), "ok" if ok else "error")


def posts(source_id: str, fetched: int, new: int) -> None:
    """Items a poll or a stream's batch brought, and how many of them were new."""
    source = label(source_id)
    if fetched > 0:
        _posts_fetched.inc(source, amount=fetched)
    if new > 0:
        _posts.inc(source, amount=new)


def alert_created(brand: str, severity: str, category: str) -> None:
    _mentions.inc(label(brand), label(severity), label(category))


def alert_muted(brand: str) -> None:
    _muted.inc(label(brand))


def delivery(notifier_id: str, outcome: str, queued_s: float | None = None, post_age_s: float | None = None) -> None:
    """One delivery attempt; a sent one also records how long it waited and how old its post was."""
    notifier = label(notifier_id)
    _deliveries.inc(notifier, outcome)
    if queued_s is not None:
        _queue_to_sent.observe(_seconds(queued_s), notifier)
    if post_age_s is not None:
        _post_to_alert.observe(_seconds(post_age_s))


def acknowledged(severity: str, seconds: float) -> None:
    _alert_to_ack.observe(_seconds(seconds), label(severity))


def escalated() -> None:
    _escalations.inc()


def log_event(level: str, event: str) -> None:
    _log_events.inc(level, label(event))


def label(value: str) -> str:
    return (value or "unknown")[:LABEL_MAX]


def _seconds(value: float) -> float:
    return max(0.0, value) if math.isfinite(value) else 0.0  # clock skew must not go negative
