import asyncio
import re

import httpx
import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import CapturingLogger

from monitor.log import count_warnings, drop_below
from monitor.models import Send
from monitor.runtime import counters
from monitor.runtime.metrics import Metrics, serve, store_gauges
from monitor.sources.base import SourceState
from tests.factories import NOW, make_alert, make_post


@pytest.fixture
async def listen():
    """Start `serve` on a free loopback port; yields a function returning (client, base_url)."""
    servers, clients = [], []

    async def start(metrics: Metrics, health=None) -> httpx.AsyncClient:
        server = await serve(metrics, port=0, health=health)
        servers.append(server)
        client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=5)
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.aclose()
    for server in servers:
        await server.close()


def samples(body: str) -> dict[tuple[str, frozenset], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


def value(body: str, name: str, **labels: str) -> float | None:
    return samples(body).get((name, frozenset(labels.items())))


async def test_counted_events_become_series(listen):
    before = _sample("brand_monitor_escalations_total") or 0
    counters.poll("m-hn", True)
    counters.posts("m-hn", fetched=30, new=4)
    counters.poll("m-hn", True)
    counters.posts("m-hn", fetched=30, new=0)
    counters.poll("m-rss", False)
    counters.alert_created("m-Acme", "m-high", "outage")
    counters.delivery("m-slack", "sent", queued_s=0.4, post_age_s=95.0)
    counters.delivery("m-slack", "retry")
    counters.delivery("m-mail", "dead")
    counters.acknowledged("m-high", 1200)
    counters.escalated()
    client = await listen(Metrics())
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    body = response.text
    assert value(body, "brand_monitor_polls_total", source="m-hn", outcome="ok") == 2
    assert value(body, "brand_monitor_polls_total", source="m-rss", outcome="error") == 1
    assert value(body, "brand_monitor_posts_total", source="m-hn") == 4
    assert value(body, "brand_monitor_posts_fetched_total", source="m-hn") == 60
    assert value(body, "brand_monitor_mentions_total", brand="m-Acme", severity="m-high", category="outage") == 1
    assert value(body, "brand_monitor_deliveries_total", notifier="m-slack", outcome="sent") == 1
    assert value(body, "brand_monitor_deliveries_total", notifier="m-slack", outcome="retry") == 1
    assert value(body, "brand_monitor_deliveries_total", notifier="m-mail", outcome="dead") == 1
    assert value(body, "brand_monitor_queue_to_sent_seconds_sum", notifier="m-slack") == pytest.approx(0.4)
    assert value(body, "brand_monitor_queue_to_sent_seconds_bucket", notifier="m-slack", le="0.25") == 0
    assert value(body, "brand_monitor_queue_to_sent_seconds_bucket", notifier="m-slack", le="0.5") == 1
    assert value(body, "brand_monitor_alert_to_ack_seconds_bucket", severity="m-high", le="900.0") == 0
    assert value(body, "brand_monitor_alert_to_ack_seconds_bucket", severity="m-high", le="1800.0") == 1
    assert value(body, "brand_monitor_escalations_total") == before + 1
    assert "_created" not in body


async def test_openmetrics_is_negotiated(listen):
    client = await listen(Metrics())
    response = await client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


def test_negative_durations_are_clamped_and_labels_capped():
    before = _sample("brand_monitor_post_to_alert_seconds_sum") or 0
    counters.delivery("x" * 500, "sent", queued_s=-2.0, post_age_s=float("nan"))
    assert _sample("brand_monitor_post_to_alert_seconds_sum") == before
    assert _sample("brand_monitor_queue_to_sent_seconds_sum", notifier="x" * 64) == 0
    assert _sample("brand_monitor_deliveries_total", notifier="x" * 64, outcome="sent") == 1


def _sample(name: str, **labels: str) -> float | None:
    return Metrics().registry.get_sample_value(name, labels)


async def test_gauges_are_read_on_every_scrape(listen):
    current = {"open_alerts": 2, "late_alerts": 0, "outbox_pending": 5}
    client = await listen(Metrics(lambda: current))
    body = (await client.get("/metrics")).text
    assert value(body, "brand_monitor_open_alerts") == 2
    assert value(body, "brand_monitor_outbox_pending") == 5
    current.update(open_alerts=7, late_alerts=3)
    body = (await client.get("/metrics")).text
    assert value(body, "brand_monitor_open_alerts") == 7
    assert value(body, "brand_monitor_late_alerts") == 3
    assert value(body, "brand_monitor_gauges_up") == 1


async def test_async_gauges_and_failures(listen):
    calls = []

    async def gauges():
        calls.append(1)
        if len(calls) == 2:
            raise OSError("database is locked")
        return {"open_alerts": len(calls), "bad name!": 1, "late_alerts": "many"}

    client = await listen(Metrics(gauges))
    body = (await client.get("/metrics")).text
    assert value(body, "brand_monitor_open_alerts") == 1
    assert "bad name" not in body and "late_alerts" not in body
    failed = await client.get("/metrics")  # a failed store read still answers, with gauges_up 0
    assert failed.status_code == 200
    assert value(failed.text, "brand_monitor_gauges_up") == 0
    assert value(failed.text, "brand_monitor_open_alerts") is None
    assert value((await client.get("/metrics")).text, "brand_monitor_open_alerts") == 3


async def test_slow_gauges_time_out(listen):
    async def gauges():
        await asyncio.sleep(10)
        return {}

    client = await listen(Metrics(gauges, gauge_timeout=0.05))
    body = (await client.get("/metrics")).text
    assert value(body, "brand_monitor_gauges_up") == 0


async def test_store_gauges_read_a_real_store(store):
    now = NOW.timestamp()
    posts = [make_post(1), make_post(2)]
    store.ingest(SourceState("feed"), posts, [(make_alert(p), {"team": Send(), "mail": Send()}) for p in posts],
                 now)
    store.save_source_state(SourceState("bad", error_count=5, parked=True))
    store.save_source_state(SourceState("flaky", error_count=1))
    store.ack(make_alert(posts[0]).id, now)
    gauges = store_gauges(store, clock=lambda: now + 7200)  # past the respond-by time
    assert await gauges() == {"open_alerts": 1, "late_alerts": 1, "outbox_pending": 4, "outbox_sending": 0,
                              "outbox_dead": 0, "sources_failing": 1, "sources_parked": 1,
                              "store_failing": 0}


async def test_healthz_follows_the_health_callback(listen):
    state = {"ok": True}

    async def health():
        if state["ok"] is None:
            raise RuntimeError("store gone")
        return state["ok"]

    client = await listen(Metrics(), health=health)
    response = await client.get("/healthz")
    assert (response.status_code, response.text) == (200, "ok\n")
    state["ok"] = False
    assert (await client.get("/healthz")).status_code == 503
    state["ok"] = None
    assert (await client.get("/healthz")).status_code == 503
    state["ok"] = True
    assert (await client.get("/healthz?probe=1")).status_code == 200


async def test_unknown_paths_and_methods(listen):
    client = await listen(Metrics())
    assert (await client.get("/")).status_code == 404
    assert (await client.get("/metrics/extra")).status_code == 404
    response = await client.post("/metrics", content=b"x")
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "HEAD"}
    assert (await client.delete("/healthz")).status_code == 405
    head = await client.head("/metrics")
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0


async def raw(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()


async def test_garbage_requests_do_not_crash_the_server(listen):
    client = await listen(Metrics())
    port = client.base_url.port
    assert re.match(rb"HTTP/1\.[01] 400 ", await raw(port, b"\x00\xff\xfe garbage\r\n\r\n"))
    assert re.match(rb"HTTP/1\.[01] 400 ", await raw(port, b"GET /metrics SPDY/9\r\n\r\n"))
    huge = b"GET /metrics HTTP/1.1\r\nX-Pad: " + b"a" * 20000 + b"\r\n\r\n"
    assert re.match(rb"HTTP/1\.[01] 4(00|31) ", await raw(port, huge))
    _, stalled = await asyncio.open_connection("127.0.0.1", port)
    stalled.write(b"GET /metrics HTTP/1.1\r\n")  # never finishes its request
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.close()  # hang up without a word
    assert (await client.get("/healthz")).status_code == 200  # neither holds up anyone else
    stalled.close()


def test_warnings_are_counted_by_event_name_even_below_the_log_level():
    out = CapturingLogger()
    logger = structlog.wrap_logger(out, processors=[
        structlog.processors.add_log_level, count_warnings, drop_below("error"),
        structlog.processors.JSONRenderer()])
    before = _sample("brand_monitor_log_events_total", level="warning", event="source_failed") or 0
    logger.info("poll_completed", source_id="hn")
    logger.warning("source_failed", source_id="rss", error="boom")
    logger.error("alert_dead_lettered", notifier_id="mail")
    assert [c.method_name for c in out.calls] == ["error"]
    assert _sample("brand_monitor_log_events_total", level="warning", event="source_failed") == before + 1
    assert _sample("brand_monitor_log_events_total", level="info", event="poll_completed") is None
