import asyncio

from structlog.testing import capture_logs

from monitor.delivery.worker import DeliveryWorker, Destination
from monitor.errors import AuthFailedError, RateLimitedError, TransientError
from monitor.models import Delivery, Send
from monitor.settings import DeliveryConfig, NotifierConfig
from monitor.sources.base import SourceState
from tests.factories import make_alert, make_post


class ScriptedNotifier:
    """A Notifier that raises or succeeds as scripted, recording what it was asked to send."""

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.sent: list[tuple[str, str]] = []

    async def send(self, alert, idempotency_key):
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if isinstance(outcome, Exception):
            raise outcome
        self.sent.append((alert.id, idempotency_key))
        return Delivery(notifier_id="x", alert_id=alert.id, status_code=200)


class Clock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def queue(store, n=1, destinations=("team",), now=1000.0):
    posts = [make_post(i) for i in range(1, n + 1)]
    store.ingest(SourceState("feed"), posts, [(make_alert(p), dict.fromkeys(destinations, Send())) for p in posts], now)


def worker(store, clock, **notifiers):
    destinations = {nid: Destination(n, cfg) for nid, (n, cfg) in notifiers.items()}
    config = DeliveryConfig(backoff_initial="10s", backoff_max="10m")
    return DeliveryWorker(store, destinations, config, clock=clock)


def cfg(**kw):
    return NotifierConfig(type="test", **kw)


async def test_transient_failure_is_retried_after_backoff_then_delivered(store):
    clock, notifier = Clock(), ScriptedNotifier(TransientError("HTTP 502"))
    queue(store)
    w = worker(store, clock, team=(notifier, cfg()))
    assert await w.flush() == 0
    assert store.outbox_counts() == {"team": {"pending": 1}}
    clock.now += 9
    assert await w.flush() == 0          # not due yet (backoff >= 10 s)
    clock.now += 700
    assert await w.flush() == 1
    assert store.outbox_counts() == {"team": {"sent": 1}}
    assert len(notifier.sent) == 1


async def test_retry_after_is_honoured(store):
    clock = Clock()
    queue(store)
    w = worker(store, clock, team=(ScriptedNotifier(RateLimitedError("429", retry_after=120)), cfg()))
    await w.flush()
    assert store.next_due_at("team") >= clock.now + 120


async def test_permanent_failure_dead_letters_to_fallback(store):
    clock = Clock()
    email = ScriptedNotifier()
    queue(store)
    w = worker(store, clock, team=(ScriptedNotifier(AuthFailedError("HTTP 403")), cfg(fallback="email")),
               email=(email, cfg()))
    with capture_logs() as logs:
        await w.flush()
        await w.flush()
    assert store.outbox_counts() == {"team": {"dead": 1}, "email": {"sent": 1}}
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["alert_dead_lettered"]
    assert store.dead_letters()[0]["last_error"] == "HTTP 403"


async def test_gives_up_after_max_attempts(store):
    clock = Clock()
    queue(store)
    w = worker(store, clock, team=(ScriptedNotifier(*[TransientError("down")] * 5), cfg(max_attempts=2)))
    await w.flush()
    clock.now += 3600
    await w.flush()
    assert store.outbox_counts() == {"team": {"dead": 1}}
    assert store.dead_letters()[0]["last_error"] == "gave up after 2 attempts: down"


async def test_too_old_alerts_are_dead_lettered_not_sent(store):
    clock, notifier = Clock(), ScriptedNotifier()
    queue(store)
    clock.now += 7200
    await worker(store, clock, team=(notifier, cfg(max_age="1h"))).flush()
    assert notifier.sent == [] and store.outbox_counts() == {"team": {"dead": 1}}


async def test_one_broken_destination_does_not_hold_up_another(store):
    clock = Clock()
    good = ScriptedNotifier()
    queue(store, n=3, destinations=("broken", "good"))
    w = worker(store, clock, broken=(ScriptedNotifier(*[TransientError("down")] * 9), cfg()), good=(good, cfg()))
    assert await w.flush() == 3
    assert len(good.sent) == 3


async def test_idempotency_key_is_stable_per_alert_and_destination(store):
    clock, notifier = Clock(), ScriptedNotifier(TransientError("timeout after send"))
    queue(store)
    w = worker(store, clock, team=(notifier, cfg()))
    await w.flush()
    clock.now += 3600
    await w.flush()
    row_keys = {key for _, key in notifier.sent}
    assert len(row_keys) == 1


async def test_running_worker_delivers_on_wake_and_stops_cleanly(store):
    notifier = ScriptedNotifier()
    w = worker(store, Clock(0.0), team=(notifier, cfg()))
    w.start()
    queue(store, n=2, now=0.0)
    w.wake()
    for _ in range(100):
        if len(notifier.sent) == 2:
            break
        await asyncio.sleep(0.01)
    await w.stop()
    assert len(notifier.sent) == 2


async def test_min_interval_spaces_messages_to_one_destination(store):
    import time as real_time

    class Timed(ScriptedNotifier):
        async def send(self, alert, idempotency_key):
            self.sent.append((real_time.monotonic(), idempotency_key))
            return Delivery(notifier_id="x", alert_id=alert.id)

    notifier = Timed()
    queue(store, n=3, now=0.0)
    w = worker(store, Clock(0.0), team=(notifier, cfg(min_interval="150ms")))
    w.start()
    for _ in range(200):
        if len(notifier.sent) == 3:
            break
        await asyncio.sleep(0.01)
    await w.stop()
    times = [t for t, _ in notifier.sent]
    assert len(times) == 3
    assert all(b - a >= 0.14 for a, b in zip(times, times[1:]))


def test_chat_notifiers_default_to_their_documented_rate_limits():
    from monitor import registry
    registry.load_plugins()
    assert registry.NOTIFIERS["slack"].config_model.model_fields["min_interval"].default == 1.0
    assert registry.NOTIFIERS["discord"].config_model.model_fields["min_interval"].default == 2.0
    assert registry.NOTIFIERS["webhook"].config_model.model_fields["min_interval"].default == 0.0


async def test_a_digest_batch_is_sent_as_one_message(store):
    clock, notifier = Clock(), ScriptedNotifier()
    posts = [make_post(i) for i in range(1, 4)]
    store.ingest(SourceState("feed"), posts,
                 [(make_alert(p), {"team": Send(not_before=1500.0, batch="digest:praise")}) for p in posts], 1000.0)
    w = worker(store, clock, team=(notifier, cfg()))
    assert await w.flush() == 0                    # not before the digest time
    clock.now = 1500.0
    assert await w.flush() == 1
    assert len(notifier.sent) == 1
    assert store.outbox_counts() == {"team": {"sent": 3}}


def test_digest_alert_lists_every_alert():
    from datetime import datetime, timezone

    from monitor.routing.digest import digest_alert
    alerts = [make_alert(make_post(i, text=f"Acme problem {i}")) for i in range(1, 4)]
    digest = digest_alert(alerts, datetime(2026, 11, 25, tzinfo=timezone.utc))
    assert digest.mention.post.title == "Digest: 3 mention(s) of Acme (3 outage)"
    assert digest.mention.post.text.count("\n") == 2 and "Acme problem 3" in digest.mention.post.text


async def test_alerts_of_one_thread_reach_the_notifier_with_the_first_messages_id(store):
    from dataclasses import replace as dc_replace

    class Threaded(ScriptedNotifier):
        async def send(self, alert, idempotency_key):
            self.sent.append((alert.id, alert.thread_parent))
            return Delivery(notifier_id="x", alert_id=alert.id, remote_id=f"ts-{len(self.sent)}")

    notifier = Threaded()
    posts = [make_post(i) for i in (1, 2)]
    alerts = [dc_replace(make_alert(p), thread="incident:abc") for p in posts]
    store.ingest(SourceState("feed"), posts, [(a, {"team": Send()}) for a in alerts], 1000.0)
    await worker(store, Clock(), team=(notifier, cfg())).flush()
    assert notifier.sent == [(alerts[0].id, ""), (alerts[1].id, "ts-1")]
