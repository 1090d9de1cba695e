"""bluesky_jetstream in the real daemon: a Jetstream-compatible WebSocket server on loopback in, a webhook out."""
from __future__ import annotations

import asyncio
import textwrap
import time
from datetime import datetime
from pathlib import Path

import pytest

from monitor import app
from monitor.errors import ConfigError
from monitor.runtime import counters
from monitor.settings import load_settings, parse_settings
from monitor.status import collect_status
from tests.e2e.servers import HookReceiver
from tests.servers.streams import JetstreamServer, jetstream_post

T0 = 1_764_928_800_000_000  # time_us of the first event


@pytest.fixture
async def jetstream():
    server = await JetstreamServer().start()
    yield server
    await server.close()


def write_config(tmp_path: Path, jetstream: JetstreamServer, hook: HookReceiver, extra: str = "") -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(textwrap.dedent(f"""\
        store: {{path: {tmp_path / 'state.db'}}}
        brands: [{{name: Acme, keywords: [Acme]}}]
        sources:
          live:
            type: bluesky_jetstream
            url: "{jetstream.url}"
            profiles_url: "{jetstream.base}"
            fallback: search
            reconnect_max: 1s
            {extra}
          search: {{type: bluesky, identifier: us.test, app_password: pw, service_url: "{jetstream.base}",
                    every: 1s, jitter: 0s, allow_fast_polling: true}}
        notifiers: {{hook: {{type: webhook, url: "{hook.url}", timeout: 5s}}}}
        routes: [{{name: all, notify: [hook]}}]
        incidents: {{enabled: false}}
        """))
    return config


async def eventually(condition, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def started(config: Path, jetstream: JetstreamServer) -> app.Daemon:
    """The daemon, once its stream is connected (Jetstream sends from the live end on a first connection)."""
    connections = len(jetstream.connections)
    daemon = app.Daemon(config, load_settings(config))
    await daemon.start()
    await eventually(lambda: len(jetstream.connections) > connections)
    return daemon


async def test_a_matching_post_becomes_an_alert_with_the_polling_sources_id_and_url(tmp_path, jetstream, hook):
    seen_before = counters._posts.snapshot().get(("live",), 0)
    daemon = await started(write_config(tmp_path, jetstream, hook), jetstream)
    jetstream.publish(jetstream_post(T0, "Just had lunch"))
    jetstream.publish({"did": "did:plc:x", "time_us": T0 + 1, "kind": "identity",
                       "identity": {"did": "did:plc:x", "handle": "x.bsky.social", "seq": 1}})
    jetstream.publish({"did": "did:plc:x", "time_us": T0 + 2, "kind": "commit",
                       "commit": {"operation": "delete", "collection": "app.bsky.feed.post", "rkey": "3kdel"}})
    jetstream.publish(jetstream_post(T0 + 3, "Acme charged me twice, support is silent", rkey="3kacme"))
    try:
        await eventually(lambda: hook.received)
        await eventually(lambda: daemon.store.load_source_state("live").cursor == str(T0 + 3))
    finally:
        await daemon.stop()

    (_, _, body), = hook.received
    assert body["data"]["post"]["url"] == "https://bsky.app/profile/kundin.bsky.social/post/3kacme"
    assert body["data"]["post"]["author"]["handle"] == "kundin.bsky.social"
    assert jetstream.connections[0] == {"wantedCollections": "app.bsky.feed.post"}
    assert jetstream.searches == 0  # the stream was live: its fallback was not polled
    assert counters._posts.snapshot().get(("live",), 0) == seen_before + 1  # /metrics counts streamed posts too


async def test_a_reconnect_resumes_from_the_cursor_and_repeats_no_alert(tmp_path, jetstream, hook):
    jetstream.close_after = 2
    daemon = await started(write_config(tmp_path, jetstream, hook), jetstream)
    jetstream.publish(jetstream_post(T0, "Acme is down for me"))
    jetstream.publish(jetstream_post(T0 + 10, "nothing to see"))
    try:
        await eventually(lambda: len(jetstream.connections) >= 2)  # the server closed the first one
        jetstream.close_after = None
        jetstream.publish(jetstream_post(T0 + 20, "Acme still down"))
        await eventually(lambda: len(hook.received) >= 2)
        await asyncio.sleep(0.3)
    finally:
        await daemon.stop()

    assert jetstream.connections[1]["cursor"] == str(T0 + 10 - 5_000_000)  # the last event, rewound 5 s
    assert sorted(b["data"]["post"]["text"] for _, _, b in hook.received) == ["Acme is down for me", "Acme still down"]


async def test_a_restart_sends_the_persisted_cursor(tmp_path, jetstream, hook):
    config = write_config(tmp_path, jetstream, hook)
    daemon = await started(config, jetstream)
    jetstream.publish(jetstream_post(T0, "Acme is down"))
    try:
        await eventually(lambda: hook.received)
    finally:
        await daemon.stop()
    await (await started(config, jetstream)).stop()
    assert jetstream.connections[1]["cursor"] == str(T0 - 5_000_000)
    assert len(hook.received) == 1


async def test_a_refused_stream_polls_its_fallback_and_says_why_in_status(tmp_path, jetstream, hook):
    jetstream.refuse = 401
    config = write_config(tmp_path, jetstream, hook)
    daemon = await started(config, jetstream)
    try:
        await eventually(lambda: jetstream.searches >= 1)
    finally:
        await daemon.stop()

    live = {s["id"]: s for s in collect_status(load_settings(config), 0.0)["sources"]}["live"]
    assert live["health"] == "polling fallback"
    assert "HTTP 401" in live["last_error"]


async def test_a_rate_limited_stream_waits_as_told_and_polls_its_fallback_meanwhile(tmp_path, jetstream, hook):
    jetstream.refuse = 429  # with Retry-After: 30
    config = write_config(tmp_path, jetstream, hook)
    refused_at = time.time()
    daemon = await started(config, jetstream)
    try:
        await eventually(lambda: jetstream.searches >= 1)
        await asyncio.sleep(0.5)
        assert len(jetstream.connections) == 1  # no second try before the 30 s are up
    finally:
        await daemon.stop()
    live = {s["id"]: s for s in collect_status(load_settings(config), time.time())["sources"]}["live"]
    assert live["health"] == "polling fallback"
    assert "HTTP 429" in live["last_error"]
    assert datetime.fromisoformat(live["next_poll"]).timestamp() >= refused_at + 29


async def test_garbage_and_an_oversized_message_do_not_stop_the_stream(tmp_path, jetstream, hook):
    daemon = await started(write_config(tmp_path, jetstream, hook), jetstream)
    jetstream.publish(jetstream_post(T0 - 1, "an ordinary post"))  # a cursor to resume from
    for garbage in ["not json", "[1, 2]", '{"kind": "commit", "commit": "x"}',
                    '{"kind": "commit", "did": 5, "commit": {"operation": "create"}}']:
        jetstream.publish(garbage)
    jetstream.publish(jetstream_post(T0, "Acme " + "x" * 300_000))
    try:
        await eventually(lambda: len(jetstream.connections) >= 2)  # the oversized message cost a connection
        jetstream.publish(jetstream_post(T0 + 5, "Acme app crashes on start"))
        await eventually(lambda: hook.received)
    finally:
        await daemon.stop()

    assert [b["data"]["post"]["text"] for _, _, b in hook.received] == ["Acme app crashes on start"]
    assert "cursor" not in jetstream.connections[1]  # resuming would meet the oversized message again


@pytest.mark.parametrize("source, problem", [
    ("{type: bluesky_jetstream, fallback: serch}",
     "sources.live.fallback: unknown source 'serch' (did you mean 'search'?)"),
    ("{type: bluesky_jetstream, fallback: feed}",
     ("sources.live.fallback: 'feed' is a rss source; the fallback of a bluesky_jetstream stream polls the same "
      "network: a bluesky source")),
    ("{type: bluesky_jetstream, every: 5m}",
     "sources.live: every: a stream is not polled; set it on its fallback source"),
])
def test_config_errors_name_file_line_and_field(source, problem):
    text = textwrap.dedent(f"""\
        brands: [{{name: Acme}}]
        sources:
          feed: {{type: rss, url: "https://example.com/feed"}}
          search: {{type: bluesky, identifier: us.test, app_password: pw}}
          live: {source}
        """)
    with pytest.raises(ConfigError) as info:
        parse_settings(text, "config.yaml")
    assert info.value.problems == [f"config.yaml:5: {problem}"]
