"""Reddit through its OAuth API: keyword search (sort=new) and, optionally, every new post of some subreddits.

Needs an OAuth app's client_id/client_secret (app-only "client credentials" grant, or a script app's
username/password). Without credentials use the `reddit_rss` preset (Reddit's public search.rss feed).
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, Literal

import httpx
import structlog
from pydantic import Field, SecretStr, model_validator

from .. import __version__, registry
from ..errors import AuthFailedError
from ..http import raise_for_status, send_capped
from ..models import Author, Engagement, Post
from ..settings import Duration, SourceConfig
from .base import FetchResult, SourceState, search_terms
from .common import MAX_TEXT, Watermark, dump_cursor, from_epoch, load_cursor, log_backlog_skipped, parse_json

WEB_URL = "https://www.reddit.com"
MAX_QUERY_CHARS = 400  # Reddit rejects search queries over 512 characters
TOKEN_MARGIN = 60.0
_SUBREDDIT = re.compile(r"^[A-Za-z0-9_]{2,21}$")
log = structlog.get_logger()


class RedditConfig(SourceConfig):
    type: Literal["reddit"]
    every: Duration = 120.0
    client_id: SecretStr | None = None
    client_secret: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    user_agent: str | None = None  # default: python:brand-monitor:<version> (by /u/<username>)
    subreddits: list[str] = []
    new_from: list[str] = []
    api_url: str = "https://oauth.reddit.com"
    token_url: str = "https://www.reddit.com/api/v1/access_token"
    limit: int = Field(default=100, ge=1, le=100)
    max_pages: int = Field(default=3, ge=1, le=10)
    initial_lookback: Duration = 3600.0
    overlap: Duration = 900.0

    @model_validator(mode="after")
    def _check(self) -> RedditConfig:
        if self.client_id is None or self.client_secret is None:
            raise ValueError("reddit needs client_id and client_secret (an OAuth app; the *_file twins work too); "
                             "without credentials use a `reddit_rss` source instead")
        if (self.username is None) != (self.password is None):
            raise ValueError("give both username and password (script app), or neither (app-only access)")
        bad = [s for s in (*self.subreddits, *self.new_from) if not _SUBREDDIT.match(s.removeprefix("r/"))]
        if bad:
            raise ValueError(f"not a subreddit name: {', '.join(bad)}")
        return self


class RedditSource:
    platform = "reddit"

    def __init__(self, source_id: str, config: RedditConfig, ctx: registry.PluginContext,
                 clock: Callable[[], float] = time.time):
        self.source_id, self.config, self.http, self.clock = source_id, config, ctx.http, clock
        self.feeds = _feeds(config, search_terms(ctx.brands, config.brands))
        self._token: str | None = None
        self._token_expires = 0.0
        self._paused_for: float | None = None
        by = f"by /u/{config.username}" if config.username else "self-hosted brand monitoring"
        self.user_agent = config.user_agent or f"python:brand-monitor:{__version__} ({by})"

    async def fetch(self, state: SourceState) -> FetchResult:
        marks = load_cursor(state.cursor)
        posts: dict[str, Post] = {}
        self._paused_for = None
        for key, path, params in self.feeds:
            if self._paused_for is not None:
                break  # nearly out of quota: the remaining feeds keep their cursors and go next time
            mark = Watermark.load(marks.get(key))
            items, page_full = await self._listing(path, params, mark)
            for kind, data in items:
                if mark is None or mark.is_new(data["name"], data["created_utc"], self.config.overlap):
                    post = self._to_post(kind, data)
                    if post is not None:
                        posts.setdefault(post.id, post)
            start = mark or Watermark.first(self.clock() - self.config.initial_lookback,
                                            [d["created_utc"] for _, d in items], page_full)
            marks[key] = start.advanced(((d["name"], d["created_utc"]) for _, d in items), self.config.overlap).dump()
        marks = {key: marks[key] for key, _, _ in self.feeds if key in marks}
        return FetchResult(posts=list(posts.values()), cursor=dump_cursor(marks), min_next_poll=self._paused_for)

    async def _listing(self, path: str, params: dict[str, Any],
                       mark: Watermark | None) -> tuple[list[tuple[str, dict[str, Any]]], bool]:
        """Newest-first pages until one reaches items we have seen (first poll: newest page only)."""
        since = mark.since(self.config.overlap) if mark else self.clock() - self.config.initial_lookback
        items: list[tuple[str, dict[str, Any]]] = []
        after, page_full = None, False
        pages = self.config.max_pages if mark else 1
        for _ in range(pages):
            query = {**params, "limit": self.config.limit, "raw_json": 1} | ({"after": after} if after else {})
            data = await self._get(path, query)
            listing = data.get("data") if isinstance(data, dict) else None
            children = listing.get("children") if isinstance(listing, dict) else None
            page = [(c["kind"], c["data"]) for c in children or [] if _valid_thing(c)]
            items += [(k, d) for k, d in page if d["created_utc"] > since]
            page_full = len(children or []) >= self.config.limit
            after = listing.get("after") if isinstance(listing, dict) else None
            if not page or not after or min(d["created_utc"] for _, d in page) <= since or self._paused_for:
                break
        else:
            if mark is not None:
                log_backlog_skipped(self.source_id, params.get("q") or path, pages)
        return items, page_full

    async def _get(self, path: str, params: dict[str, Any]) -> Any:
        url = f"{self.config.api_url.rstrip('/')}{path}"
        for attempt in range(2):
            headers = {"Authorization": f"bearer {await self._access_token()}", "User-Agent": self.user_agent}
            response, body = await send_capped(self.http, "GET", url, params=params, headers=headers,
                                               max_bytes=self.config.max_bytes, timeout=self.config.timeout)
            self._note_rate_limit(response.headers)
            if response.status_code == 401 and attempt == 0:
                self._token = None  # revoked or expired early: fetch a new token once
                continue
            if response.status_code == 401:
                raise AuthFailedError("reddit: a fresh access token was rejected too (HTTP 401); "
                                      "check client_id/client_secret")
            if response.status_code == 403:
                raise AuthFailedError(f"reddit: HTTP 403 for {path} (private or banned subreddit, "
                                      "or the app is not approved for API access)")
            raise_for_status(response, f"reddit {path}")
            return parse_json(body, f"reddit {path}")
        raise AssertionError("unreachable")

    async def _access_token(self) -> str:
        if self._token and self.clock() < self._token_expires:
            return self._token
        cfg = self.config
        assert cfg.client_id is not None and cfg.client_secret is not None  # the config validator requires both
        grant = {"grant_type": "client_credentials"}
        if cfg.username and cfg.password:
            grant = {"grant_type": "password", "username": cfg.username, "password": cfg.password.get_secret_value()}
        response, body = await send_capped(
            self.http, "POST", cfg.token_url, data=grant, headers={"User-Agent": self.user_agent},
            auth=httpx.BasicAuth(cfg.client_id.get_secret_value(), cfg.client_secret.get_secret_value()),
            max_bytes=min(cfg.max_bytes, 65536), timeout=cfg.timeout)
        if response.status_code in (401, 403):
            raise AuthFailedError(f"reddit: client_id/client_secret rejected (HTTP {response.status_code})")
        raise_for_status(response, "reddit token endpoint")
        data = parse_json(body, "reddit token endpoint")
        error = data.get("error") if isinstance(data, dict) else "malformed response"
        if error == "invalid_grant":
            raise AuthFailedError("reddit: username/password rejected (invalid_grant)")
        if error or not isinstance(data.get("access_token"), str):
            raise AuthFailedError(f"reddit: token request refused ({str(error)[:100]})")
        self._token = data["access_token"]
        self._token_expires = self.clock() + float(data.get("expires_in") or 3600) - TOKEN_MARGIN
        log.info("source_token_fetched", source_id=self.source_id, grant=grant["grant_type"])
        return self._token

    def _note_rate_limit(self, headers: httpx.Headers) -> None:
        try:
            remaining = float(headers["X-Ratelimit-Remaining"])
            reset = float(headers["X-Ratelimit-Reset"])
        except (KeyError, ValueError):
            return
        if remaining < 2:
            self._paused_for = max(reset, 1.0)
            log.info("source_quota_exhausted", source_id=self.source_id, reset_seconds=reset)

    def _to_post(self, kind: str, data: dict[str, Any]) -> Post | None:
        author = str(data.get("author") or "")
        text = str(data.get("selftext" if kind == "t3" else "body") or "")
        if author == "[deleted]" and text in ("[deleted]", "[removed]"):
            return None
        permalink = str(data.get("permalink") or "")
        return Post(
            source_id=self.source_id,
            platform=self.platform,
            id=data["name"],
            url=WEB_URL + permalink if permalink.startswith("/") else permalink,
            title=str(data.get("title") or "") if kind == "t3" else "",
            text=text[:MAX_TEXT],
            author=Author(handle="" if author == "[deleted]" else author,
                          display_name="" if author == "[deleted]" else author),
            published_at=from_epoch(data["created_utc"]),
            engagement=Engagement(likes=_int(data.get("score")), reposts=_int(data.get("num_crossposts")),
                                  replies=_int(data.get("num_comments")) if kind == "t3" else 0),
            raw={k: data[k] for k in ("subreddit", "url", "is_self", "upvote_ratio", "over_18", "link_id",
                                      "parent_id", "link_title", "subreddit_subscribers") if data.get(k) is not None},
        )


def _feeds(config: RedditConfig, terms: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
    """(cursor key, path, query) for every listing one poll reads."""
    subs = "+".join(s.removeprefix("r/") for s in config.subreddits)
    path = f"/r/{subs}/search" if subs else "/search"
    restrict = {"restrict_sr": 1} if subs else {}
    feeds = [(f"search:{q}", path, {"q": q, "sort": "new", "type": "link", **restrict}) for q in _or_queries(terms)]
    feeds += [(f"new:{s}", f"/r/{s.removeprefix('r/')}/new", {}) for s in config.new_from]
    return feeds


def _or_queries(terms: list[str]) -> list[str]:
    """Terms OR-ed together, split so that no query exceeds Reddit's length limit."""
    queries: list[str] = []
    current = ""
    for term in terms:
        cleaned = term.replace('"', " ").strip()
        part = f'"{cleaned}"' if re.search(r"[^\w]", cleaned) else cleaned
        if current and len(current) + len(part) + 4 > MAX_QUERY_CHARS:
            queries.append(current)
            current = ""
        current = f"{current} OR {part}" if current else part
    return queries + [current] if current else queries


def _valid_thing(child: Any) -> bool:
    data = child.get("data") if isinstance(child, dict) else None
    return (isinstance(data, dict) and child.get("kind") in ("t1", "t3") and isinstance(data.get("name"), str)
            and isinstance(data.get("created_utc"), (int, float)))


def _int(value: Any) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


@registry.source("reddit", RedditConfig)
def make_reddit(source_id: str, config: RedditConfig, ctx: registry.PluginContext) -> RedditSource:
    return RedditSource(source_id, config, ctx)
