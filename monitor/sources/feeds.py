"""Feed presets: each builds a feed URL from a small typed config, then polls it with the generic rss FeedSource.

- google_news:   Google News search RSS for the brands' keywords (personal, non-commercial use only).
- google_alerts: a Google Alerts "deliver to RSS feed" URL; unwraps google.com/url?...&url= links.
- youtube:       a channel's or playlist's newest uploads.
- reddit_rss:    Reddit search or a subreddit's newest posts, without OAuth credentials.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Literal
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from pydantic import Field, model_validator

from .. import __version__, registry
from ..errors import ConfigError
from ..models import Author, Post
from ..settings import Duration, SourceConfig
from .base import search_terms
from .rss import FeedSource, HttpUrlStr, check_http_url

GOOGLE_NEWS_SEARCH = "https://news.google.com/rss/search"
YOUTUBE_FEED = "https://www.youtube.com/feeds/videos.xml"
REDDIT = "https://www.reddit.com"
_ID = r"^[A-Za-z0-9_-]{2,64}$"


def _feed_source(source_id: str, config: SourceConfig, ctx: registry.PluginContext, url: str, platform: str,
                 headers: dict[str, str] | None = None, refine=None) -> FeedSource:
    return FeedSource(source_id, url, ctx.http, timeout=config.timeout, max_bytes=config.max_bytes,
                      headers=headers or {}, platform=platform, refine=refine)


def or_query(terms: list[str]) -> str:
    """'"Acme" OR "Acme Corp"': each keyword as an exact phrase (quotes inside a keyword are dropped)."""
    phrases = [" ".join(t.replace('"', " ").split()) for t in terms]
    return " OR ".join(f'"{p}"' for p in phrases if p)


def _brand_query(source_id: str, config: SourceConfig, ctx: registry.PluginContext, query: str | None) -> str:
    text = query or or_query(search_terms(ctx.brands, config.brands))
    if not text:
        raise ConfigError([f"sources.{source_id}: no brand keywords to search for"])
    return text


# --------------------------------------------------------------------------------------------- Google News

class GoogleNewsConfig(SourceConfig):
    type: Literal["google_news"]
    query: str | None = None  # default: the brands' keywords, quoted and OR-joined
    language: str = Field(default="en-US", pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$")  # hl
    region: str = Field(default="US", pattern=r"^[A-Za-z]{2}$")  # gl
    ceid: str | None = Field(default=None, pattern=r"^[A-Za-z]{2}:[A-Za-z0-9-]{2,12}$")  # default REGION:lang
    when: str | None = Field(default=None, pattern=r"^\d{1,3}[hdmy]$")  # e.g. 1d: only recent articles
    every: Duration = 900.0


def google_news_url(query: str, config: GoogleNewsConfig) -> str:
    q = f"{query} when:{config.when}" if config.when else query
    region = config.region.upper()
    ceid = config.ceid or f"{region}:{config.language.split('-')[0].lower()}"
    params = {"q": q, "hl": config.language, "gl": region, "ceid": ceid}
    return f"{GOOGLE_NEWS_SEARCH}?{urlencode(params, quote_via=quote)}"


@registry.source("google_news", GoogleNewsConfig)
def make_google_news(source_id: str, config: GoogleNewsConfig, ctx: registry.PluginContext) -> FeedSource:
    url = google_news_url(_brand_query(source_id, config, ctx, config.query), config)
    return _feed_source(source_id, config, ctx, url, "google_news")


# --------------------------------------------------------------------------------------------- Google Alerts

class GoogleAlertsConfig(SourceConfig):
    type: Literal["google_alerts"]
    url: HttpUrlStr  # https://www.google.com/alerts/feeds/<user>/<alert>


def unwrap_google_redirect(url: str) -> str:
    """https://www.google.com/url?rct=j&sa=t&url=https://example.com/a&ct=ga -> https://example.com/a."""
    parts = urlsplit(url)
    if parts.netloc.lower().removeprefix("www.").startswith("google.") and parts.path == "/url":
        target = (parse_qs(parts.query).get("url") or parse_qs(parts.query).get("q") or [""])[0]
        try:
            return check_http_url(target)
        except ValueError:
            return url
    return url


def _refine_google_alert(post: Post) -> Post:
    return dataclasses.replace(post, url=unwrap_google_redirect(post.url))


@registry.source("google_alerts", GoogleAlertsConfig)
def make_google_alerts(source_id: str, config: GoogleAlertsConfig, ctx: registry.PluginContext) -> FeedSource:
    return _feed_source(source_id, config, ctx, config.url, "google_alerts", refine=_refine_google_alert)


# --------------------------------------------------------------------------------------------- YouTube

class YouTubeConfig(SourceConfig):
    type: Literal["youtube"]
    channel_id: str | None = Field(default=None, pattern=_ID)  # UC…, from the channel page's source
    playlist_id: str | None = Field(default=None, pattern=_ID)  # PL… or UU… (a channel's uploads)
    every: Duration = 900.0  # YouTube answers with Cache-Control: max-age=900

    @model_validator(mode="after")
    def _one_target(self) -> YouTubeConfig:
        if (self.channel_id is None) == (self.playlist_id is None):
            raise ValueError("give exactly one of channel_id or playlist_id")
        return self


def youtube_url(config: YouTubeConfig) -> str:
    key, value = ("channel_id", config.channel_id) if config.channel_id else ("playlist_id", config.playlist_id)
    return f"{YOUTUBE_FEED}?{urlencode({key: value})}"


@registry.source("youtube", YouTubeConfig)
def make_youtube(source_id: str, config: YouTubeConfig, ctx: registry.PluginContext) -> FeedSource:
    return _feed_source(source_id, config, ctx, youtube_url(config), "youtube")


# --------------------------------------------------------------------------------------------- Reddit RSS

class RedditRssConfig(SourceConfig):
    type: Literal["reddit_rss"]
    subreddit: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_+]{2,100}$")  # without r/
    search: bool | None = None  # default: search site-wide without subreddit, newest posts with one
    query: str | None = None  # default: the brands' keywords, quoted and OR-joined
    user_agent: str | None = Field(default=None, max_length=300)
    reddit_username: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{3,20}$")  # for "(by /u/…)"
    every: Duration = 600.0  # unauthenticated Reddit throttles hard

    @model_validator(mode="after")
    def _has_target(self) -> RedditRssConfig:
        if self.subreddit is None and self.search is False:
            raise ValueError("without a subreddit, reddit_rss can only search (search: true)")
        return self


def reddit_url(config: RedditRssConfig, query: str | None) -> str:
    base = f"{REDDIT}/r/{config.subreddit}" if config.subreddit else REDDIT
    if query is None:
        return f"{base}/new/.rss"
    params = {"q": query, **({"restrict_sr": "1"} if config.subreddit else {}), "sort": "new"}
    return f"{base}/search.rss?{urlencode(params, quote_via=quote)}"


def reddit_user_agent(config: RedditRssConfig) -> str:
    """Reddit asks for '<platform>:<app ID>:<version> (by /u/<name>)' and throttles generic agents."""
    if config.user_agent:
        return config.user_agent
    by = f"by /u/{config.reddit_username}" if config.reddit_username else "self-hosted brand monitor"
    return f"python:brand-monitor:{__version__} ({by})"


_REDDIT_FOOTER = re.compile(r"\s*submitted by\s+/u/\S+(?:\s+to\s+r/\S+)?\s*\[link\]\s*\[comments\]\s*$")


_REDDIT_FULLNAME = re.compile(r"\bt[1-6]_[a-z0-9]+$")


def _refine_reddit(post: Post) -> Post:
    """Drop the 'submitted by … [link] [comments]' footer, '/u/' and the feed URL feedparser glues to the id."""
    handle = post.author.handle.removeprefix("/u/")
    fullname = _REDDIT_FULLNAME.search(post.id)
    return dataclasses.replace(post, id=fullname.group(0) if fullname else post.id,
                               text=_REDDIT_FOOTER.sub("", post.text),
                               author=Author(handle=handle, display_name=handle))


@registry.source("reddit_rss", RedditRssConfig)
def make_reddit_rss(source_id: str, config: RedditRssConfig, ctx: registry.PluginContext) -> FeedSource:
    searching = config.search if config.search is not None else config.subreddit is None
    query = _brand_query(source_id, config, ctx, config.query) if searching else None
    return _feed_source(source_id, config, ctx, reddit_url(config, query), "reddit",
                        headers={"User-Agent": reddit_user_agent(config)}, refine=_refine_reddit)
