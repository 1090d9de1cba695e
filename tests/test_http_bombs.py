"""Compressed bodies from a real loopback server: the size cap counts decoded bytes, bombs stop at the cap.

Memory and the event loop under real-size bombs (2 and 4 GB, four at once) are measured by bench/bench_bombs.py.
"""
from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer

from monitor.app import build_components
from monitor.errors import PermanentError
from monitor.http import get_capped, make_client
from monitor.polling import Poller
from monitor.settings import parse_settings
from monitor.sources.base import SourceState
from monitor.sources.rss import FeedSource
from tests.servers.bombs import MIB, bomb, compress

CAP = 1_000_000
FEED = (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Status</title>'
        b"<item><guid>incident-1</guid><title>Acme outage in the EU region</title>"
        b"<description>Acme Mail is down.</description></item></channel></rss>")


@pytest.fixture
async def client():
    async with make_client() as c:
        yield c


def serve(server: HTTPServer, path: str, body: bytes, encoding: str) -> str:
    server.expect_request(path).respond_with_data(body, content_type="application/rss+xml",
                                                  headers={"Content-Encoding": encoding})
    return server.url_for(path)


@pytest.mark.parametrize("encoding, size", [("gzip, gzip", 128 * MIB), ("gzip", 512 * MIB), ("deflate", 512 * MIB),
                                            ("deflate, gzip", 128 * MIB)])
async def test_bomb_stops_at_the_decoded_cap(server, client, encoding, size):
    url = serve(server, f"/bomb/{encoding}", bomb(encoding, size), encoding)
    with pytest.raises(PermanentError) as info:
        await get_capped(client, url, max_bytes=CAP, timeout=10)
    assert str(info.value) == f"{url}: decoded body exceeds the {CAP}-byte cap (Content-Encoding: {encoding})"


async def test_the_source_is_marked_with_the_reason(server, client, store):
    url = serve(server, "/feed-bomb.xml", bomb("gzip, gzip", 128 * MIB), "gzip, gzip")
    settings = parse_settings(f"""
brands: [{{name: Acme}}]
notifiers: {{team: {{type: webhook, url: "http://127.0.0.1:9/hook"}}}}
routes: [{{name: all, notify: [team]}}]
sources: {{status: {{type: rss, url: '{url}', max_bytes: {CAP}}}}}
""")
    components = build_components(settings, client)
    report = await Poller(store, components.pipeline, settings.polling).poll("status", *components.sources["status"])
    reason = f"{url}: decoded body exceeds the {CAP}-byte cap (Content-Encoding: gzip, gzip)"
    assert not report.ok and store.load_source_state("status").last_error == reason


@pytest.mark.parametrize("encoding, message", [
    ("br", "unsupported Content-Encoding: br (gzip and deflate are)"),
    ("gzip, compress", "unsupported Content-Encoding: gzip, compress (gzip and deflate are)"),
    ("gzip, gzip, gzip", "Content-Encoding stacks 3 codings, more than 2: gzip, gzip, gzip"),
])
async def test_unknown_or_deep_encodings_are_refused(server, client, encoding, message):
    url = serve(server, f"/odd/{encoding}", compress("gzip", FEED), encoding)
    with pytest.raises(PermanentError) as info:
        await get_capped(client, url, max_bytes=CAP, timeout=10)
    assert str(info.value) == f"{url}: {message}"


@pytest.mark.parametrize("encoding, body", [
    ("gzip", compress("gzip", FEED)),
    ("x-gzip", compress("gzip", FEED)),
    ("deflate", compress("deflate", FEED)),
    ("deflate", compress("raw-deflate", FEED)),
    ("gzip, gzip", compress("gzip", compress("gzip", FEED))),
    ("identity", FEED),
])
async def test_well_behaved_encodings_decode(server, client, encoding, body):
    url = serve(server, f"/feed/{encoding}/{len(body)}.xml", body, encoding)
    result = await FeedSource("status", url, client, timeout=10, max_bytes=CAP).fetch(SourceState("status"))
    assert [p.title for p in result.posts] == ["Acme outage in the EU region"]


async def test_a_big_feed_decodes_in_steps_to_the_byte(server, client):
    """Many decoding steps (64 KiB each) join back to exactly the original body."""
    items = b"".join(b"<item><guid>%d</guid><title>Post %d</title></item>" % (i, i) for i in range(20_000))
    feed = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>' + items + b"</channel></rss>"
    url = serve(server, "/big.xml", compress("gzip", compress("deflate", feed)), "deflate, gzip")
    _, body = await get_capped(client, url, max_bytes=5 * CAP, timeout=10)
    assert len(feed) > 1_000_000 and body == feed
