"""Feed presets: the URL each builds from its config, and its behaviour through the shared rss fetch/parse."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from monitor import registry
from monitor.errors import ConfigError, PermanentError
from monitor.http import make_client
from monitor.settings import BrandConfig, parse_settings
from monitor.sources.base import SourceState
from monitor.sources.feeds import (
    GoogleAlertsConfig,
    GoogleNewsConfig,
    RedditRssConfig,
    YouTubeConfig,
    or_query,
    unwrap_google_redirect,
)
from monitor.sources.rss import FeedSource

DATA = Path(__file__).parent / "data"
BRANDS = (BrandConfig(name="Shatel", keywords=["Shatel", "شاتل", "Shatel Mobile"]),
          BrandConfig(name="Acme", keywords=['Acme "Corp"']))


@pytest.fixture
async def client():
    async with make_client() as c:
        yield c


def build(kind: str, client=None, ctx_brands=BRANDS, **options) -> FeedSource:
    plugin = registry.lookup(registry.SOURCES, kind)
    assert not isinstance(plugin, str), plugin
    config = plugin.config_model.model_validate({"type": kind, **options})
    return plugin.factory(f"{kind}_1", config, registry.PluginContext(http=client, brands=ctx_brands))


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def at(source: FeedSource, http, path: str, name: str, content_type: str = "application/atom+xml",
       **expect) -> FeedSource:
    """The preset's own source (platform, headers, refine), pointed at the loopback server."""
    http.expect_request(path, **expect).respond_with_data((DATA / name).read_bytes(), content_type=content_type)
    return dataclasses.replace(source, url=http.url_for(path))


# --------------------------------------------------------------------------------------------- Google News

def test_or_query_quotes_each_keyword():
    assert or_query(["Shatel", "شاتل", 'Acme "Corp"', " "]) == '"Shatel" OR "شاتل" OR "Acme Corp"'


def test_google_news_url_from_brand_keywords():
    source = build("google_news")
    parts = urlsplit(source.url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "news.google.com", "/rss/search")
    assert query(source.url) == {"q": '"Shatel" OR "شاتل" OR "Shatel Mobile" OR "Acme Corp"',
                                 "hl": "en-US", "gl": "US", "ceid": "US:en"}
    assert " " not in source.url and "+" not in source.url  # percent-encoded
    assert source.platform == "google_news"


def test_google_news_language_region_when_and_brand_filter():
    source = build("google_news", brands=["Shatel"], language="fa", region="ir", when="1d")
    assert query(source.url) == {"q": '"Shatel" OR "شاتل" OR "Shatel Mobile" when:1d',
                                 "hl": "fa", "gl": "IR", "ceid": "IR:fa"}
    custom = build("google_news", query='"Acme" -rocket', ceid="US:en", language="en-GB")
    assert query(custom.url)["q"] == '"Acme" -rocket' and query(custom.url)["ceid"] == "US:en"


def test_google_news_without_keywords_is_a_config_error():
    with pytest.raises(ConfigError, match="no brand keywords"):
        build("google_news", brands=["Nobody"])


@pytest.mark.parametrize("options", [{"when": "yesterday"}, {"region": "USA"}, {"language": "english!"},
                                     {"url": "https://example.org"}])
def test_google_news_rejects_bad_options(options):
    with pytest.raises(ValueError):
        GoogleNewsConfig.model_validate({"type": "google_news", **options})


async def test_google_news_shaped_feed_through_the_preset(http, client):
    body = ("<?xml version='1.0'?><rss version='2.0'><channel><title>\"Shatel\" - Google News</title>"
            "<item><title>Shatel expands fibre - Example Times</title>"
            "<link>https://news.google.com/rss/articles/CBMiAAA?oc=5</link>"
            "<guid isPermaLink='false'>CBMiAAA</guid><pubDate>Mon, 03 Apr 2023 10:00:00 GMT</pubDate>"
            "<description>&lt;a href=\"https://news.google.com/rss/articles/CBMiAAA?oc=5\" target=\"_blank\"&gt;"
            "Shatel expands fibre&lt;/a&gt;&amp;nbsp;&amp;nbsp;&lt;font color=\"#6f6f6f\"&gt;Example Times&lt;/font&gt;"
            "</description><source url='https://times.example.com'>Example Times</source></item>"
            "</channel></rss>")
    http.expect_request("/gn").respond_with_data(body, content_type="application/xml; charset=utf-8")
    source = dataclasses.replace(build("google_news", client), url=http.url_for("/gn"))
    post, = (await source.fetch(SourceState("google_news_1"))).posts
    assert (post.platform, post.id, post.title) == ("google_news", "CBMiAAA", "Shatel expands fibre - Example Times")
    assert post.text == "Shatel expands fibre Example Times" and post.raw["source_title"] == "Example Times"


# --------------------------------------------------------------------------------------------- Google Alerts

def test_unwrap_google_redirect():
    wrapped = "https://www.google.com/url?rct=j&sa=t&url=https://news.example.com/a%3Fb%3D1&ct=ga"
    assert unwrap_google_redirect(wrapped) == "https://news.example.com/a?b=1"
    assert unwrap_google_redirect("https://www.google.com/url?url=javascript:alert(1)").startswith("https://www.google")
    not_google = "https://example.com/url?url=https://x.org/"
    assert unwrap_google_redirect(not_google) == not_google


async def test_google_alerts_feed_unwraps_links_and_strips_highlighting(http, client):
    source = at(build("google_alerts", client, url="https://www.google.com/alerts/feeds/1/2"), http,
                "/alerts", "google_alerts.xml")
    first, second = (await source.fetch(SourceState("google_alerts_1"))).posts
    assert first.url == "https://news.example.com/2023/04/acme-login"
    assert first.title == "Acme customers report login failures"
    assert first.text == "Since Monday, Acme users cannot log in ..."
    assert first.platform == "google_alerts" and first.raw["feed_title"] == "Google Alert - Acme"
    assert first.published_at == datetime(2023, 4, 3, 11, 53, 37, tzinfo=timezone.utc)
    assert second.url.startswith("https://www.google.com/url?")  # a javascript: target is not unwrapped


def test_google_alerts_needs_an_http_url():
    with pytest.raises(ValueError, match="http"):
        GoogleAlertsConfig(type="google_alerts", url="alerts/feeds/1/2")


# --------------------------------------------------------------------------------------------- YouTube

def test_youtube_urls():
    channel = build("youtube", channel_id="UCabcdefghijklmnopqrstuv")
    assert channel.url == "https://www.youtube.com/feeds/videos.xml?channel_id=UCabcdefghijklmnopqrstuv"
    playlist = build("youtube", playlist_id="PLxyz_-1")
    assert playlist.url == "https://www.youtube.com/feeds/videos.xml?playlist_id=PLxyz_-1"
    assert channel.platform == "youtube"


@pytest.mark.parametrize("options", [{}, {"channel_id": "UCa1", "playlist_id": "PLb2"}, {"channel_id": "UC&x=1"}])
def test_youtube_needs_exactly_one_valid_id(options):
    with pytest.raises(ValueError):
        YouTubeConfig.model_validate({"type": "youtube", **options})


async def test_youtube_feed_engagement_and_removed_channel(http, client):
    source = at(build("youtube", client, channel_id="UCabcdefghijklmnopqrstuv"), http, "/yt", "youtube.xml")
    post, = (await source.fetch(SourceState("youtube_1"))).posts
    assert (post.id, post.url) == ("yt:video:AAAAAAAAAAA", "https://www.youtube.com/watch?v=AAAAAAAAAAA")
    assert post.engagement.likes == 1234 and post.raw["views"] == 98765
    assert post.text == "Plug it in, open the app, done. Questions? Ask below."
    assert post.published_at == datetime(2023, 4, 3, 15, 1, 42, tzinfo=timezone.utc)
    http.expect_request("/gone").respond_with_data("<html><body>404 Not Found</body></html>", status=404,
                                                   content_type="text/html")
    with pytest.raises(PermanentError, match="HTTP 404"):
        await dataclasses.replace(source, url=http.url_for("/gone")).fetch(SourceState("youtube_1"))


# --------------------------------------------------------------------------------------------- Reddit RSS

def test_reddit_search_url_from_brand_keywords():
    source = build("reddit_rss")
    assert source.url.startswith("https://www.reddit.com/search.rss?")
    assert query(source.url) == {"q": '"Shatel" OR "شاتل" OR "Shatel Mobile" OR "Acme Corp"', "sort": "new"}
    assert source.platform == "reddit"


def test_reddit_subreddit_urls():
    assert build("reddit_rss", subreddit="acmeusers").url == "https://www.reddit.com/r/acmeusers/new/.rss"
    restricted = build("reddit_rss", subreddit="acmeusers", search=True, brands=["Acme"])
    assert restricted.url.startswith("https://www.reddit.com/r/acmeusers/search.rss?")
    assert query(restricted.url) == {"q": '"Acme Corp"', "restrict_sr": "1", "sort": "new"}


@pytest.mark.parametrize("options", [{"search": False}, {"subreddit": "r/acme"}, {"subreddit": "a/../b"},
                                     {"reddit_username": "x y"}])
def test_reddit_rejects_bad_options(options):
    with pytest.raises(ValueError):
        RedditRssConfig.model_validate({"type": "reddit_rss", **options})


def test_reddit_user_agent_is_descriptive():
    assert build("reddit_rss").headers["User-Agent"].startswith("python:brand-monitor:")
    assert build("reddit_rss", reddit_username="acme_bot").headers["User-Agent"].endswith("(by /u/acme_bot)")
    custom = "linux:acme:1.0 (by /u/x)"
    assert build("reddit_rss", user_agent=custom).headers["User-Agent"] == custom


async def test_reddit_feed_sends_the_user_agent_and_tidies_posts(http, client):
    source = build("reddit_rss", client, subreddit="acmeusers", reddit_username="acme_bot")
    source = at(source, http, "/r/acmeusers/new/.rss", "reddit.xml",
                headers={"User-Agent": source.headers["User-Agent"]})
    post, = (await source.fetch(SourceState("reddit_rss_1"))).posts
    http.check_assertions()
    assert post.id == "t3_abc123" and post.platform == "reddit"
    assert post.url == "https://www.reddit.com/r/acmeusers/comments/abc123/double_charge/"
    assert post.author.handle == "angry_customer"
    assert post.text == "Acme billing charged me twice & support is silent."


# --------------------------------------------------------------------------------------------- settings

def test_presets_load_through_the_settings_loader():
    settings = parse_settings("""
brands: [{name: Acme, keywords: [Acme]}]
sources:
  news: {type: google_news, language: de, region: DE, every: 30m}
  alerts: {type: google_alerts, url: "https://www.google.com/alerts/feeds/1/2"}
  yt: {type: youtube, channel_id: UCabcdefghijklmnopqrstuv}
  reddit: {type: reddit_rss, subreddit: acme, brands: [Acme]}
""")
    assert settings.sources["news"].every == 1800 and settings.sources["yt"].every == 900
    assert isinstance(settings.sources["reddit"], RedditRssConfig)
    with pytest.raises(ConfigError, match="sources.yt"):
        parse_settings("brands: [{name: Acme}]\nsources:\n  yt: {type: youtube, channel: UC1}\n")


def test_the_documented_example_is_a_valid_config():
    doc = (Path(__file__).parents[2] / "docs" / "sources-feeds.md").read_text(encoding="utf-8")
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    settings = parse_settings(example)
    assert {c.type for c in settings.sources.values()} == {"rss", "google_news", "google_alerts", "youtube",
                                                            "reddit_rss"}
