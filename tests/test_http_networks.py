"""Redirects and host names may not lead a request into a private network its configured URL does not name.

A real loopback server plays the feed. Where a test needs a host name that resolves to this machine, the
`hosts` fixture points every *.example.test name at 127.0.0.1 the way lines in /etc/hosts would; everything
after the name lookup is real.
"""
from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer

from monitor.app import build_components
from monitor.errors import PermanentError
from monitor.http import get_capped, make_client
from monitor.notifiers.base import sample_alert
from monitor.settings import parse_settings
from monitor.sources.base import SourceState

FEED = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Status</title>'
        b"<item><guid>1</guid><title>Acme outage</title></item></channel></rss>")
INTERNAL = b"<rss><channel><item><title>internal admin page</title></item></channel></rss>"
NAME = "feeds.example.test"


@pytest.fixture
async def client():
    async with make_client() as c:
        yield c




def redirecting(http: HTTPServer, target: str) -> str:
    http.expect_request("/feed.xml").respond_with_data("", status=302, headers={"Location": target})
    http.expect_request("/internal.xml").respond_with_data(INTERNAL, content_type="application/rss+xml")
    return http.url_for("/feed.xml")


@pytest.mark.parametrize("target, refusal", [
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 port 80, a cloud metadata address"),
    ("http://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254 port 80, a cloud metadata address"),
    ("http://[::ffff:a9fe:a9fe]/latest/meta-data/", "::ffff:a9fe:a9fe port 80, a cloud metadata address"),
    ("http://10.0.0.1:8080/internal.xml",
     "10.0.0.1 port 8080, a private address; `allow_private_network: true` on the source allows it"),
    ("http://[fe80::1]/internal.xml", "fe80::1 port 80, a link-local address; `allow_private_network: true`"),
])
async def test_redirect_out_of_the_configured_network_is_refused(http, client, target, refusal):
    url = redirecting(http, target)
    with pytest.raises(PermanentError) as info:
        await get_capped(client, url, max_bytes=10_000, timeout=3)
    assert str(info.value).startswith(f"{url}: refused to connect to {refusal}")


async def test_redirect_within_the_configured_network_is_followed(http, client):
    url = redirecting(http, http.url_for("/internal.xml"))
    _, body = await get_capped(client, url, max_bytes=10_000, timeout=3)
    assert body == INTERNAL


async def test_a_name_that_resolves_inside_is_refused(http, client, hosts):
    http.expect_request("/feed.xml").respond_with_data(FEED, content_type="application/rss+xml")
    url = f"http://{NAME}:{http.port}/feed.xml"
    with pytest.raises(PermanentError) as info:
        await get_capped(client, url, max_bytes=10_000, timeout=3)
    assert str(info.value) == (f"{url}: refused to connect to {NAME} (127.0.0.1) port {http.port}, a loopback "
                               "address; `allow_private_network: true` on the source allows it")
    assert http.log == []  # refused before a byte was sent


def settings_for(http: HTTPServer):
    hook = f"http://hooks.example.test:{http.port}/hook"
    return parse_settings(f"""
brands: [{{name: Acme}}]
notifiers: {{hook: {{type: webhook, url: '{hook}'}}}}
routes: [{{name: all, notify: [hook]}}]
sources:
  strict: {{type: rss, url: 'http://{NAME}:{http.port}/feed.xml'}}
  trusted: {{type: rss, url: 'http://{NAME}:{http.port}/feed.xml', allow_private_network: true}}
  trusted_to_metadata: {{type: rss, url: 'http://{NAME}:{http.port}/meta.xml', allow_private_network: true}}
""")


async def test_allow_private_network_opts_a_source_in_but_never_to_metadata(http, client, hosts):
    redirecting(http, http.url_for("/internal.xml"))
    http.expect_request("/meta.xml").respond_with_data("", status=302, headers={"Location": "http://169.254.169.254/"})
    sources = build_components(settings_for(http), client).sources
    with pytest.raises(PermanentError, match=f"{NAME} \\(127.0.0.1\\) port {http.port}, a loopback address"):
        await sources["strict"][0].fetch(SourceState("strict"))
    result = await sources["trusted"][0].fetch(SourceState("trusted"))
    assert [p.title for p in result.posts] == ["internal admin page"]
    with pytest.raises(PermanentError, match="169.254.169.254 port 80, a cloud metadata address$"):
        await sources["trusted_to_metadata"][0].fetch(SourceState("trusted_to_metadata"))


async def test_notifiers_reach_the_operators_own_private_hosts(http, client, hosts):
    http.expect_request("/hook", method="POST").respond_with_data("ok")
    destination = build_components(settings_for(http), client).destinations["hook"]
    await destination.notifier.send(sample_alert(), "key-1")
    assert [request.path for request, _ in http.log] == ["/hook"]
