"""mastodon_streaming in the real daemon: a Mastodon streaming API (server-sent events) on loopback in, a webhook
out, and the tag timeline its fallback `mastodon` source polls."""
from __future__ import annotations

import asyncio
import copy
import json
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from aiohttp import web

from monitor import app
from monitor.settings import load_settings
from monitor.status import collect_status
from tests.e2e.servers import HookReceiver
from tests.servers.streams import MastodonStreamServer
from tests.sources.test_bluesky_jetstream import eventually

TEMPLATE = json.loads((Path(__file__).parent / "social_data" / "mastodon_status.json").read_text())


def status(n: int, text: str) -> str:
    s = copy.deepcopy(TEMPLATE)
    s.update(id=str(113500000000000000 + n), content=f"<p>{text}</p>",
             uri=f"https://social.example/users/kundin/statuses/{n}", url=f"https://social.example/@kundin/{n}")
    return json.dumps(s)


@pytest.fixture
async def mastodon():
    server = await MastodonStreamServer(token="t0ken").start()
    yield server
    await server.close()


def write_config(tmp_path: Path, mastodon: MastodonStreamServer, hook: HookReceiver, token: str = "t0ken") -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(textwrap.dedent(f"""\
        store: {{path: {tmp_path / 'state.db'}}}
        brands: [{{name: Acme, keywords: [Acme]}}]
        sources:
          live: {{type: mastodon_streaming, instance: "{mastodon.base}", access_token: {token}, local: true,
                  fallback: tags, reconnect_max: 1s}}
          tags: {{type: mastodon, instances: ["{mastodon.base}"], search: false, every: 1h, jitter: 0s}}
        notifiers: {{hook: {{type: webhook, url: "{hook.url}", timeout: 5s}}}}
        routes: [{{name: all, notify: [hook]}}]
        incidents: {{enabled: false}}
        """))
    return config


async def started(config: Path, mastodon: MastodonStreamServer, connections: int = 2) -> app.Daemon:
    daemon = app.Daemon(config, load_settings(config))
    await daemon.start()
    await eventually(lambda: len(mastodon.connections) >= connections)
    return daemon


async def test_update_events_become_alerts_with_the_polling_sources_ids(tmp_path, mastodon, hook):
    daemon = await started(write_config(tmp_path, mastodon, hook), mastodon)
    try:
        await eventually(lambda: mastodon.polls == 1)  # one poll of the fallback covers the time before connecting
        mastodon.push("update", status(1, "Lunch was fine"))
        mastodon.push("delete", "113500000000000001")
        mastodon.push("update", "{not json")
        mastodon.push("update", status(2, "Acme billed me twice this month"))
        await eventually(lambda: hook.received)
        await asyncio.sleep(0.3)
    finally:
        await daemon.stop()

    assert sorted(mastodon.connections) == ["/api/v1/streaming/hashtag?tag=acme", "/api/v1/streaming/public/local"]
    (_, _, body), = hook.received
    assert body["data"]["post"]["url"] == "https://social.example/@kundin/2"
    assert mastodon.polls == 1  # while the stream is live, its fallback is not polled again


async def test_a_closed_stream_reconnects_and_catches_up_with_one_poll(tmp_path, mastodon, hook):
    daemon = await started(write_config(tmp_path, mastodon, hook), mastodon)
    try:
        await eventually(lambda: mastodon.polls == 1)
        mastodon.close_streams()
        await eventually(lambda: len(mastodon.connections) == 4)
        await eventually(lambda: mastodon.polls == 2)
        mastodon.push("update", status(3, "Acme app is down"))
        await eventually(lambda: hook.received)
    finally:
        await daemon.stop()
    assert [b["data"]["post"]["text"] for _, _, b in hook.received] == ["Acme app is down"]


async def test_a_refused_token_polls_the_fallback_and_status_says_why(tmp_path, mastodon, hook):
    config = write_config(tmp_path, mastodon, hook, token="wrong")
    daemon = await started(config, mastodon, connections=1)
    try:
        await eventually(lambda: mastodon.polls >= 1)
        assert not daemon.streams["live"].live
    finally:
        await daemon.stop()

    live = {s["id"]: s for s in collect_status(load_settings(config), 0.0)["sources"]}["live"]
    assert live["health"] == "polling fallback"
    assert "HTTP 401" in live["last_error"]


async def test_an_oversized_event_is_dropped_and_the_stream_goes_on(tmp_path, mastodon, hook):
    daemon = await started(write_config(tmp_path, mastodon, hook), mastodon)
    try:
        mastodon.push("update", status(4, "Acme " + "x" * 300_000))
        mastodon.push("update", status(5, "Acme support never answers"))
        await eventually(lambda: hook.received)
        await asyncio.sleep(0.3)
    finally:
        await daemon.stop()
    assert [b["data"]["post"]["text"] for _, _, b in hook.received] == ["Acme support never answers"]
    assert len(mastodon.connections) == 2  # no reconnect was needed


async def test_a_redirect_to_a_private_address_is_refused(tmp_path, hook):
    async def to_a_private_address(_request):
        raise web.HTTPFound("http://10.255.255.1/x")

    redirecting = web.Application()
    redirecting.router.add_get("/api/v1/streaming/hashtag", to_a_private_address)
    runner = web.AppRunner(redirecting)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    config = tmp_path / "config.yaml"
    config.write_text(f"store: {{path: {tmp_path / 'state.db'}}}\nbrands: [{{name: Acme}}]\nsources: {{live: "
                      f"{{type: mastodon_streaming, instance: 'http://127.0.0.1:{runner.addresses[0][1]}'}}}}\n")
    daemon = app.Daemon(config, load_settings(config))
    await daemon.start()
    try:
        await eventually(lambda: daemon.store.load_source_state("live").last_error)
    finally:
        await daemon.stop()
        await runner.cleanup()
    live = {s["id"]: s for s in collect_status(load_settings(config), 0.0)["sources"]}["live"]
    assert "refused to connect to 10.255.255.1 port 80, a private address" in live["last_error"]
    assert live["health"] == "PARKED"  # no fallback configured


async def test_a_rate_limited_stream_waits_for_the_reset_and_polls_the_fallback_meanwhile(tmp_path, mastodon, hook):
    mastodon.limited_until = datetime.now(timezone.utc) + timedelta(minutes=5)
    config = write_config(tmp_path, mastodon, hook)
    daemon = await started(config, mastodon, connections=1)
    try:
        await eventually(lambda: mastodon.polls >= 1)
        await asyncio.sleep(0.5)
        assert len(mastodon.connections) <= 2  # one try per stream, then the wait: no hammering
    finally:
        await daemon.stop()
    live = {s["id"]: s for s in collect_status(load_settings(config), time.time())["sources"]}["live"]
    assert live["health"] == "polling fallback"
    assert "HTTP 429" in live["last_error"]
    next_try = datetime.fromisoformat(live["next_poll"])
    assert next_try >= mastodon.limited_until - timedelta(seconds=5)
