"""Acknowledge-links over real HTTP on 127.0.0.1: a GET only shows a button, a POST acknowledges."""
import httpx

from monitor.models import Send
from monitor.notifiers.format import plain_text, view
from monitor.runtime.acklinks import AckLinks
from monitor.runtime.metrics import Metrics, serve
from monitor.sources.base import SourceState
from tests.factories import make_alert, make_post


async def no_gauges():
    return {}


async def test_link_shows_a_button_and_the_post_acknowledges(store):
    alert = make_alert(make_post(1))
    store.ingest(SourceState("feed"), [make_post(1)], [(alert, {"mail": Send()})], 1000.0)
    links = AckLinks("s3cret", "https://monitor.example.com", store)
    server = await serve(Metrics(no_gauges), "127.0.0.1", 0, ack_links=links)
    local = links.url_for(alert.id).replace("https://monitor.example.com", f"http://127.0.0.1:{server.port}")
    try:
        async with httpx.AsyncClient() as client:
            page = await client.get(local)                       # what a mail scanner does
            assert page.status_code == 200 and "<form method=\"post\"" in page.text
            assert store.open_alerts(0)["open"] == 1
            done = await client.post(local)
            assert done.status_code == 200 and "Acknowledged" in done.text
            again = await client.post(local)
            assert "Already acknowledged" in again.text
            forged = await client.post(local.replace("?t=", "?t=0"))
            assert forged.status_code == 404
    finally:
        await server.close()
    assert store.open_alerts(0)["open"] == 0


def test_alerts_show_the_link():
    import dataclasses
    alert = dataclasses.replace(make_alert(make_post(1)), ack_url="https://monitor.example.com/ack/x?t=abc")
    assert "Acknowledge: https://monitor.example.com/ack/x?t=abc" in plain_text(view(alert))


def test_tokens_are_per_alert_and_per_secret(store):
    a, b = AckLinks("one", "https://m", store), AckLinks("two", "https://m", store)
    assert a.valid("x", a.token("x")) and not a.valid("y", a.token("x")) and not b.valid("x", a.token("x"))
