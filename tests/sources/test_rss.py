"""The rss source against a real HTTP server on 127.0.0.1, with hand-written feeds shaped like recorded ones."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest
from structlog.testing import capture_logs
from werkzeug import Request, Response

from monitor import registry
from monitor.errors import AuthFailedError, PermanentError, RateLimitedError, TransientError
from monitor.http import make_client
from monitor.settings import BrandConfig, parse_settings
from monitor.sources.base import FetchResult, SourceState
from monitor.sources.common import MAX_TEXT, html_to_text
from monitor.sources.rss import FeedSource, RssConfig, make_rss, poll_hint

DATA = Path(__file__).parent / "data"
RSS = "application/rss+xml"
ATOM = "application/atom+xml"


@pytest.fixture
async def client():
    async with make_client() as c:
        yield c


def feed_source(client, url: str, *, timeout: float = 5.0, max_bytes: int = 5_000_000, **kw) -> FeedSource:
    return FeedSource("feed", url, client, timeout=timeout, max_bytes=max_bytes, **kw)


def serve(http, path: str, body: bytes | str, content_type: str = RSS, status: int = 200, headers=None) -> str:
    http.expect_request(path).respond_with_data(body, status=status, content_type=content_type,
                                                headers=headers or {})
    return http.url_for(path)


def data(name: str) -> bytes:
    return (DATA / name).read_bytes()


async def fetch(client, url: str, state: SourceState | None = None, **kw) -> FetchResult:
    return await feed_source(client, url, **kw).fetch(state or SourceState("feed"))


# --------------------------------------------------------------------------------------------- mapping

async def test_rss2_items_map_to_posts(http, client):
    result = await fetch(client, serve(http, "/rss2", data("rss2.xml")))
    by_title = {p.title: p for p in result.posts}
    outage = result.posts[0]
    assert outage.id == "incident-42" and outage.platform == "rss" and outage.source_id == "feed"
    assert outage.url == "https://status.example.org/incidents/42"
    assert outage.title == "Acme outage in the EU region"  # escaped markup in a title is stripped too
    assert outage.text == "Customers report that Acme Mail is down & slow.\nFix \u201csoon\u201d."
    assert "alert" not in outage.text and "<" not in outage.text
    assert outage.published_at == datetime(2023, 4, 3, 7, 15, tzinfo=timezone.utc)
    assert outage.author.display_name == "Ops Team"
    assert outage.lang_hint == "en-gb"
    assert outage.raw["tags"] == ["outage"] and outage.raw["feed_title"] == "Acme Status & News"
    assert "Duplicate of the outage item" not in by_title  # same GUID twice: the first one wins
    assert by_title["Item with a permalink guid"].url == "https://blog.example.org/2023/04/acme-review"
    assert by_title["Item with a permalink guid"].text == "A review\nof Acme, with odd whitespace."
    no_guid = by_title["Item with a link and no guid"]
    assert no_guid.id == "https://blog.example.org/2023/04/no-guid"
    assert no_guid.published_at is None  # garbled date
    assert no_guid.text == "Full content is longer than the summary.\none\ntwo"
    assert by_title["Item with neither guid nor link"].id.startswith("sha256:")
    assert by_title["Hostile link"].url == ""  # javascript: never becomes a clickable URL
    assert len(result.posts) == 5
    assert result.min_next_poll == 3600  # <ttl>60</ttl>


async def test_hash_ids_are_stable_between_polls(http, client):
    url = serve(http, "/stable", data("rss2.xml"))
    first, second = await fetch(client, url), await fetch(client, url)
    assert [p.id for p in first.posts] == [p.id for p in second.posts]
    assert [p.dedup_key for p in first.posts] == [p.dedup_key for p in second.posts]


async def test_atom_xml_base_updated_fallback_and_entry_language(http, client):
    result = await fetch(client, serve(http, "/atom", data("atom.xml"), ATOM))
    one, two, three = result.posts
    assert one.url == "https://blog.example.net/acme/posts/1.html"
    assert one.published_at == datetime(2023, 4, 3, 15, 0, tzinfo=timezone.utc)  # only <updated>, -05:00
    assert one.text == "We love Acme.\nmore" and one.author.display_name == "Jane Writer"
    assert two.url == "https://other.example.net/sub/two"  # entry-level xml:base
    assert two.published_at == datetime(2023, 4, 2, 5, 0, tzinfo=timezone.utc)  # published beats updated
    assert two.text == "a < b && c > d"  # type="text" is not parsed as HTML
    assert (one.lang_hint, three.lang_hint) == ("en", "de")
    assert one.raw["feed_title"] == "Acme engineering blog"


async def test_relative_links_resolve_against_the_feed_url(http, client):
    body = ("<rss version='2.0'><channel><title>t</title><item><title>x</title><link>../posts/7</link>"
            "</item></channel></rss>")
    result = await fetch(client, serve(http, "/blog/feed/rss", body))
    assert result.posts[0].url == http.url_for("/blog/posts/7")
    located = serve(http, "/moved", body, headers={"Content-Location": "https://cdn.example.com/a/b/feed"})
    assert (await fetch(client, located)).posts[0].url == "https://cdn.example.com/a/posts/7"


async def test_rss1(http, client):
    result = await fetch(client, serve(http, "/rdf", data("rss1.rdf"), "application/rdf+xml"))
    assert [p.title for p in result.posts] == ["Problème de connexion Acme", "Re: Problème de connexion Acme"]
    assert result.posts[0].published_at == datetime(2023, 4, 3, 5, 30, tzinfo=timezone.utc)
    assert result.posts[0].lang_hint == "fr" and result.posts[0].author.handle == "Marie"


async def test_persian_feed_keeps_text_and_passes_the_declared_language_only_as_a_hint(http, client):
    post, = (await fetch(client, serve(http, "/fa", data("persian.xml")))).posts
    assert post.title == "اینترنت شاتل از دیشب قطع است"
    assert post.text == "از دیشب اینترنت شاتل قطع است و پشتیبانی جواب نمی\u200cدهد."  # ZWNJ kept
    assert post.lang_hint == "en-us"  # wrong, as declared: the classifier detects the real language
    assert post.published_at == datetime(2023, 4, 3, 9, 0, tzinfo=timezone.utc)


async def test_windows_1251_from_the_xml_declaration(http, client):
    post, = (await fetch(client, serve(http, "/ru", data("russian_cp1251.xml")))).posts
    assert post.title == "Абоненты жалуются на сбой у Акме"
    assert post.text == "Вечером в понедельник интернет «Акме» не работал."
    assert post.lang_hint == "ru" and post.raw["tags"] == ["Технологии"]


async def test_windows_1251_from_the_content_type_header_when_the_declaration_is_missing(http, client):
    body = data("russian_cp1251.xml").split(b"\n", 1)[1]  # declaration dropped, as in the recorded TUT.BY feed
    url = serve(http, "/ru-nodecl", body, "text/xml; charset=windows-1251")
    assert (await fetch(client, url)).posts[0].title == "Абоненты жалуются на сбой у Акме"


_STRAY_BYTE_FEED = ("<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>"
                    "<item><guid>1</guid><title>Акме банк не работает</title></item>"
                    "<item><guid>2</guid><title>Weekend offers \u00ff</title></item></channel></rss>"
                    ).encode("utf-8").replace("\u00ff".encode("utf-8"), b"\xff")


@pytest.mark.parametrize("content_type", [RSS, f"{RSS}; charset=utf-8"])
async def test_one_stray_byte_is_replaced_alone_and_logged(http, client, content_type):
    """Decoded whole as windows-1252 (feedparser's fallback), the Cyrillic title became mojibake and its mention
    was stored as seen, never to alert."""
    with capture_logs() as logs:
        result = await fetch(client, serve(http, "/stray", _STRAY_BYTE_FEED, content_type))
    assert [p.title for p in result.posts] == ["Акме банк не работает", "Weekend offers \ufffd"]
    warning, = [e for e in logs if e["event"] == "feed_bad_bytes"]
    assert (warning["source_id"], warning["charset"], warning["replaced"]) == ("feed", "utf-8", 1)


async def test_an_undeclared_legacy_charset_is_detected(http, client):
    body = ("<rss version='2.0'><channel><title>Новости</title><item><guid>1</guid>"
            "<title>Абоненты жалуются: интернет Акме не работает с утра, поддержка молчит</title>"
            "<description>Жители нескольких районов сообщают, что домашний интернет пропал ночью.</description>"
            "</item></channel></rss>").encode("cp1251")
    post, = (await fetch(client, serve(http, "/legacy", body, "text/xml"))).posts
    assert post.title == "Абоненты жалуются: интернет Акме не работает с утра, поддержка молчит"


@pytest.mark.parametrize("name, titles", [
    ("blank_line.xml", ["Still readable"]),
    ("undefined_entity.xml", ["Acme DB climbs élite ranking …"]),
    ("truncated.xml", ["Complete first item", "Second item is cut off"]),
])
async def test_malformed_but_recoverable_feeds_still_yield_posts(http, client, name, titles):
    result = await fetch(client, serve(http, f"/{name}", data(name)))
    assert [p.title for p in result.posts] == titles


async def test_json_feed(http, client):
    result = await fetch(client, serve(http, "/json", data("feed.json"), "application/feed+json"))
    first, second = result.posts
    assert (first.id, first.url, first.text, first.author.handle) == (
        "j1", "https://json.example.com/1", "Acme works & ships", "Sam")
    assert first.published_at == datetime(2023, 4, 3, 8, 0, tzinfo=timezone.utc)
    assert second.published_at == datetime(2023, 4, 3, 11, 0, tzinfo=timezone.utc) and second.lang_hint == "en"


async def test_an_empty_but_valid_feed_is_not_an_error(http, client):
    body = "<rss version='2.0'><channel><title>Quiet</title></channel></rss>"
    assert (await fetch(client, serve(http, "/empty", body))).posts == []


def test_html_to_text_caps_and_unescapes():
    assert html_to_text("<p>a&amp;b &lt;c&gt; &eacute;</p><style>p{}</style>") == "a&b <c> é"
    assert len(html_to_text("<p>" + "word " * 10_000 + "</p>" * 3)) <= MAX_TEXT + 10


@pytest.mark.parametrize("text", ["  one\r\n\n  two   words \t", "Acme 😡 down\nagain", "x" * (MAX_TEXT + 5)])
def test_plain_text_skips_the_html_parser_with_the_same_result(text):
    assert html_to_text(text) == html_to_text(text + "<br>")  # a tag forces the parser; a trailing <br> adds nothing


async def test_long_guids_are_hashed_to_a_bounded_id(http, client):
    guid = "x" * 5000
    body = (f"<rss version='2.0'><channel><title>t</title><item><guid>{guid}</guid><title>a</title></item>"
            "</channel></rss>")
    post, = (await fetch(client, serve(http, "/longid", body))).posts
    assert post.id.startswith("sha256:") and len(post.id) < 64


# --------------------------------------------------------------------------------------------- HTTP behaviour

async def test_conditional_get_sends_validators_and_304_keeps_the_old_ones(http, client):
    url = serve(http, "/cond", data("rss2.xml"),
                headers={"ETag": '"v1"', "Last-Modified": "Mon, 03 Apr 2023 08:00:00 GMT"})
    first = await fetch(client, url)
    assert (first.etag, first.last_modified) == ('"v1"', "Mon, 03 Apr 2023 08:00:00 GMT")
    assert len(first.posts) == 5 and not first.not_modified

    http.clear()
    http.expect_request("/cond", headers={"If-None-Match": '"v1"',
                                          "If-Modified-Since": "Mon, 03 Apr 2023 08:00:00 GMT"}
                        ).respond_with_data("", status=304, headers={"Cache-Control": "max-age=120"})
    state = SourceState("feed", cursor="c1", etag=first.etag, last_modified=first.last_modified)
    second = await fetch(client, url, state)
    assert second.not_modified and second.posts == []
    assert (second.cursor, second.etag, second.last_modified) == ("c1", '"v1"', "Mon, 03 Apr 2023 08:00:00 GMT")
    assert second.min_next_poll == 120
    http.check_assertions()


async def test_no_validators_are_sent_on_the_first_poll_and_configured_headers_are(http, client):
    url = serve(http, "/plain", data("rss2.xml"))
    await fetch(client, url, headers={"X-Api-Key": "k"})
    request, _response = http.log[-1]
    assert "If-None-Match" not in request.headers and "If-Modified-Since" not in request.headers
    assert request.headers["X-Api-Key"] == "k"


async def test_a_200_without_validators_clears_them(http, client):
    result = await fetch(client, serve(http, "/noval", data("rss2.xml")), SourceState("feed", etag='"old"'))
    assert result.etag is None and result.last_modified is None


@pytest.mark.parametrize("headers, expected", [
    ({"Cache-Control": "public, max-age=900"}, 3600),  # the feed's <ttl> of 60 minutes is longer
    ({"Cache-Control": "max-age=7200"}, 7200),
    ({"Expires": "+9000"}, 9000),  # made absolute below; measured against the server's Date
    ({"Cache-Control": "no-store, max-age=99999"}, 3600),
])
async def test_min_next_poll_is_the_longest_server_hint(http, client, headers, expected):
    if headers.get("Expires", "").startswith("+"):
        headers = {"Expires": formatdate(time.time() + float(headers["Expires"]), usegmt=True)}
    result = await fetch(client, serve(http, "/hint", data("rss2.xml"), headers=headers))
    assert result.min_next_poll == pytest.approx(expected, abs=2)


def test_poll_hint_without_a_date_header_uses_the_injected_clock():
    now = datetime(2023, 4, 3, 8, 0, tzinfo=timezone.utc).timestamp()
    assert poll_hint(httpx.Headers({"Expires": "Mon, 03 Apr 2023 08:10:00 GMT"}), now) == 600
    assert poll_hint(httpx.Headers({"Expires": "0"}), now) is None
    assert poll_hint(httpx.Headers({"Cache-Control": "max-age=999999999"}), now) == 24 * 3600
    dated = {"Date": "Mon, 03 Apr 2023 07:00:00 GMT", "Expires": "Mon, 03 Apr 2023 07:05:00 GMT"}
    assert poll_hint(httpx.Headers(dated), now) == 300  # the server's Date wins over our clock


@pytest.mark.parametrize("status, headers, error", [
    (429, {"Retry-After": "120"}, RateLimitedError),
    (503, {"Retry-After": "30"}, RateLimitedError),
    (401, {}, AuthFailedError),
    (403, {}, AuthFailedError),
    (404, {}, PermanentError),
    (410, {}, PermanentError),
    (500, {}, TransientError),
])
async def test_http_errors_map_to_error_kinds(http, client, status, headers, error):
    url = serve(http, "/err", "<html><body>nope</body></html>", "text/html", status=status, headers=headers)
    with pytest.raises(error) as caught:
        await fetch(client, url)
    if error is RateLimitedError:
        assert caught.value.retry_after == float(headers["Retry-After"])
    if error is PermanentError:
        assert not isinstance(caught.value, AuthFailedError)


@pytest.mark.parametrize("body, content_type, message", [
    (data("not_found.html"), "text/html; charset=utf-8", "HTML page"),
    (b"<!doctype html><html><head><title>Blocked</title></head><body>x</body></html>", "application/xml", "HTML"),
    (b"\x00\x01\x02 garbage \xff\xfe", "application/octet-stream", "not an RSS/Atom/JSON feed"),
    (b"{\"not\": \"a feed\"}", "application/json", "not an RSS/Atom/JSON feed"),
    (b"", RSS, "empty response"),
])
async def test_things_that_are_not_feeds_are_permanent_errors(http, client, body, content_type, message):
    url = serve(http, "/notfeed", body, content_type)
    with pytest.raises(PermanentError, match=message) as caught:
        await fetch(client, url)
    assert http.url_for("/notfeed") in str(caught.value)


async def test_a_declared_20mb_body_is_refused_without_reading_it(http, client):
    def huge(_request: Request) -> Response:
        chunks = (b"x" * 65536 for _ in range(320))
        return Response(chunks, headers={"Content-Length": str(320 * 65536), "Content-Type": RSS})
    http.expect_request("/huge").respond_with_handler(huge)
    started = time.monotonic()
    with pytest.raises(PermanentError, match="exceeds"):
        await fetch(client, http.url_for("/huge"), max_bytes=1_000_000)
    assert time.monotonic() - started < 2


async def test_an_undeclared_20mb_stream_is_cut_off_at_the_cap(http, client):
    sent = []

    def stream(_request: Request) -> Response:
        def body():
            yield b"<rss version='2.0'><channel><title>big</title>"
            for _ in range(320):
                sent.append(1)
                yield b"<item><title>" + b"a" * 65536 + b"</title></item>"
        return Response(body(), content_type=RSS)  # no Content-Length: chunked
    http.expect_request("/stream").respond_with_handler(stream)
    started = time.monotonic()
    with pytest.raises(PermanentError, match="exceeds the 1000000-byte cap"):
        await fetch(client, http.url_for("/stream"), max_bytes=1_000_000)
    assert time.monotonic() - started < 2
    assert len(sent) < 320  # the server was not made to send everything


async def test_a_server_that_stalls_mid_body_is_cut_off_by_the_timeout(http, client):
    release = threading.Event()

    def stall(_request: Request) -> Response:
        def body():
            yield b"<rss version='2.0'><channel><title>slow</title>"
            release.wait(5)
        return Response(body(), content_type=RSS)
    http.expect_request("/stall").respond_with_handler(stall)
    started = time.monotonic()
    try:
        with pytest.raises(TransientError, match="timed out"):
            await fetch(client, http.url_for("/stall"), timeout=0.3)
    finally:
        release.set()
    assert time.monotonic() - started < 2


async def test_a_trickling_server_is_cut_off_by_the_overall_timeout(http, client):
    release = threading.Event()

    def trickle(_request: Request) -> Response:
        def body():
            yield b"<rss version='2.0'><channel><title>slow</title>"
            while not release.wait(0.05):  # a byte every 50 ms never trips httpx's per-read timeout
                yield b" "
        return Response(body(), content_type=RSS)
    http.expect_request("/trickle").respond_with_handler(trickle)
    started = time.monotonic()
    try:
        with pytest.raises(TransientError, match="timed out"):
            await fetch(client, http.url_for("/trickle"), timeout=0.4)
    finally:
        release.set()
    assert time.monotonic() - started < 2


async def test_connection_refused_is_transient(client):
    with pytest.raises(TransientError):
        await fetch(client, "http://127.0.0.1:9/feed", timeout=1)


# --------------------------------------------------------------------------------------------- config / registry

def test_config_is_validated_by_the_settings_loader():
    settings = parse_settings("brands: [{name: Acme}]\n"
                              "sources:\n  blog: {type: rss, url: 'https://example.org/feed', every: 10m,"
                              " headers: {User-Agent: custom}}\n")
    config = settings.sources["blog"]
    assert isinstance(config, RssConfig) and config.every == 600 and config.headers == {"User-Agent": "custom"}
    for bad in ("file:///etc/passwd", "example.org/feed", "ftp://example.org/feed"):
        with pytest.raises(ValueError, match="http"):
            RssConfig(type="rss", url=bad)
    with pytest.raises(ValueError):
        RssConfig(type="rss", url="https://example.org/feed", unknown=1)


async def test_factory_builds_a_source_from_config_without_io(client):
    plugin = registry.lookup(registry.SOURCES, "rss")
    assert not isinstance(plugin, str) and plugin.factory is make_rss
    config = RssConfig(type="rss", url="https://example.org/feed", timeout="3s", max_bytes=1234)
    ctx = registry.PluginContext(http=client, brands=(BrandConfig(name="Acme"),))
    source = plugin.factory("blog", config, ctx)
    assert (source.source_id, source.url, source.timeout, source.max_bytes) == (
        "blog", "https://example.org/feed", 3.0, 1234)
