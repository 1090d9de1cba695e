"""`polling.proxy`: every request through the configured proxy, still refused into private networks, still taking
turns per target host. A real loopback proxy answers for the targets (tests/servers/proxy.py); where a host name
must resolve to this machine, getaddrinfo is pointed at 127.0.0.1 as a line in /etc/hosts would."""
from __future__ import annotations

import asyncio

import pytest

from monitor.app import run_once
from monitor.errors import ConfigError, PermanentError
from monitor.http import get_capped, make_client
from monitor.settings import parse_settings
from tests.servers.proxy import RecordingProxy

PUBLIC = "http://93.184.216.34"  # a public address: only ever named to the proxy, never connected to
FEED = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Status</title>'
        b"<item><guid>1</guid><title>Acme outage</title></item></channel></rss>")


@pytest.fixture
def proxy():
    p = RecordingProxy()
    yield p
    p.stop()




async def test_proxy_variables_of_the_environment_are_not_used(proxy, hosts, monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, proxy.url)
    url = f"http://feeds.example.test:{proxy.url.rpartition(':')[2]}/feed.xml"  # a server is there, directly
    async with make_client() as client:
        with pytest.raises(PermanentError, match=r"refused to connect to feeds\.example\.test \(127\.0\.0\.1\)"):
            await get_capped(client, url, max_bytes=10_000, timeout=3)
    assert proxy.asked == []


async def test_requests_go_through_the_configured_proxy(proxy):
    url = proxy.serve(f"{PUBLIC}/feed.xml", FEED)
    async with make_client(proxy=proxy.url) as client:
        _, body = await get_capped(client, url, max_bytes=10_000, timeout=3)
    assert body == FEED and proxy.asked == [url]


@pytest.mark.parametrize("target, refusal", [
    ("http://10.0.0.1:8080/internal.xml", "10.0.0.1 port 8080, a private address; `allow_private_network: true`"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 port 80, a cloud metadata address"),
    ("http://feeds.example.test/internal.xml", "feeds.example.test (127.0.0.1) port 80, a loopback address"),
])
async def test_a_redirect_into_a_private_network_is_refused_before_the_proxy_is_asked(proxy, hosts, target, refusal):
    url = proxy.serve(f"{PUBLIC}/feed.xml", b"", status=302, headers={"Location": target})
    async with make_client(proxy=proxy.url) as client:
        with pytest.raises(PermanentError) as info:
            await get_capped(client, url, max_bytes=10_000, timeout=3)
    assert str(info.value).startswith(f"{url}: refused to connect to {refusal}")
    assert proxy.asked == [url]


async def test_destinations_through_the_proxy_may_reach_private_networks_but_not_cloud_metadata(proxy):
    lan = proxy.serve("http://10.0.0.1:8080/hook", b"ok")
    moved = proxy.serve("http://10.0.0.1:8080/moved", b"", status=302, headers={"Location": "http://169.254.169.254/"})
    async with make_client(proxy=proxy.url) as client:
        _, body = await get_capped(client.for_destinations(), lan, max_bytes=100, timeout=3)
        with pytest.raises(PermanentError, match="169.254.169.254 port 80, a cloud metadata address"):
            await get_capped(client.for_destinations(), moved, max_bytes=100, timeout=3)
    assert body == b"ok" and proxy.asked == [lan, moved]


async def test_the_per_host_limit_counts_target_hosts_not_the_proxy():
    proxy = RecordingProxy(delay=0.2)
    urls = [proxy.serve(f"http://93.184.216.{n}/feed.xml", FEED) for n in (34, 35) for _ in range(3)]
    try:
        async with make_client(per_host=1, proxy=proxy.url) as client:
            await asyncio.gather(*(get_capped(client, url, max_bytes=10_000, timeout=5) for url in urls))
    finally:
        proxy.stop()
    assert proxy.peak["93.184.216.34"] == proxy.peak["93.184.216.35"] == 1
    assert proxy.peak["*"] == 2


async def test_run_once_polls_through_the_configured_proxy(proxy, tmp_path, capsys):
    url = proxy.serve(f"{PUBLIC}/feed.xml", FEED)
    settings = parse_settings(f"""
brands: [{{name: Acme}}]
store: {{path: "{tmp_path / 'state.db'}"}}
polling: {{proxy: "{proxy.url}"}}
sources: {{status: {{type: rss, url: "{url}"}}}}
""")
    await run_once(settings, dry_run=True)
    assert proxy.asked == [url]
    assert "status: 1 posts, 1 mentions" in capsys.readouterr().out


@pytest.mark.parametrize("proxy, problem", [
    ("socks5://127.0.0.1:1080", "must be the proxy's http:// or https:// URL"),
    ("http://:3128", "must be the proxy's http:// or https:// URL"),
])
def test_a_proxy_that_is_not_an_http_url_is_refused_with_its_line(proxy, problem):
    with pytest.raises(ConfigError) as info:
        parse_settings(f"brands: [{{name: Acme}}]\npolling:\n  proxy: '{proxy}'\n", "config.yaml")
    assert str(info.value).startswith(f"config.yaml:3: polling.proxy: {problem}")


def test_an_unset_variable_with_an_empty_default_means_no_proxy(monkeypatch):
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    settings = parse_settings("brands: [{name: Acme}]\npolling: {proxy: '${HTTPS_PROXY:-}'}\n")
    assert settings.polling.proxy is None
