"""X (API v2): recent search for the brands' keywords, and the mentions timelines of the brand's own accounts.

Every request carries `since_id` from the cursor, so a poll (and a restart) only sees tweets newer than the last
one seen. X counts requests per endpoint in 15-minute windows and says so in `x-rate-limit-*` headers: when a
window is used up (remaining 0, or a 429) the poll stops with RateLimitedError until `x-rate-limit-reset`; the
cursor is not moved, so nothing is lost.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

import httpx
from pydantic import Field, SecretStr, field_validator

from .. import registry
from ..errors import AuthFailedError, RateLimitedError
from ..http import raise_for_status, send_capped
from ..models import Author, Engagement, Post
from ..settings import Duration, SourceConfig
from .base import FetchResult, SourceState, search_terms
from .common import MAX_TEXT, dump_cursor, from_iso, iso_utc, json_object, load_cursor, log_backlog_skipped, parse_json

TWEET_FIELDS = "created_at,lang,public_metrics,conversation_id,author_id"
USER_FIELDS = "public_metrics,verified,username,name"
WINDOW = 900.0  # X counts requests in 15-minute windows


class XConfig(SourceConfig):
    type: Literal["x"]
    every: Duration = 900.0  # the Basic plan allows about 60 searches per 15 minutes
    bearer_token: SecretStr
    api_url: str = "https://api.x.com/2"
    search: bool = True  # the Free plan has no search: set false and list mention_accounts
    mention_accounts: list[str] = []  # numeric user ids of the brand's own accounts
    lang: str | None = None
    include_retweets: bool = False
    max_results: int = Field(default=100, ge=10, le=100)
    max_pages: int = Field(default=3, ge=1, le=20)
    initial_lookback: Duration = 3600.0
    max_query_length: int = Field(default=512, ge=64)  # 512 on Basic, 1024 on Pro

    @field_validator("mention_accounts")
    @classmethod
    def _numeric_ids(cls, ids: list[str]) -> list[str]:
        for user_id in ids:
            if not user_id.isdigit():
                raise ValueError(f"'{user_id}' is not a numeric user id (look it up with GET /2/users/by/username/"
                                 "<name>; handles can change, ids do not)")
        return ids


class XSource:
    platform = "x"

    def __init__(self, source_id: str, config: XConfig, ctx: registry.PluginContext,
                 clock: Callable[[], float] = time.time):
        self.source_id, self.config, self.http, self.clock = source_id, config, ctx.http, clock
        self.api = config.api_url.rstrip("/")
        self.queries = search_queries(search_terms(ctx.brands, config.brands), config.include_retweets,
                                      config.lang, config.max_query_length) if config.search else []

    async def fetch(self, state: SourceState) -> FetchResult:
        marks = load_cursor(state.cursor)
        timelines = [(f"search:{q}", "/tweets/search/recent", {"query": q}) for q in self.queries]
        timelines += [(f"mentions:{u}", f"/users/{u}/mentions", {}) for u in self.config.mention_accounts]
        posts: dict[str, Post] = {}
        new_marks: dict[str, str] = {}
        for key, path, params in timelines:
            since = marks.get(key) if isinstance(marks.get(key), str) else None
            found, newest = await self._timeline(key, path, params, since)
            for post in found:
                posts.setdefault(post.id, post)
            if newest:
                new_marks[key] = newest
        return FetchResult(posts=list(posts.values()), cursor=dump_cursor(new_marks))

    async def _timeline(self, key: str, path: str, params: dict[str, Any],
                        since: str | None) -> tuple[list[Post], str | None]:
        """Tweets newer than `since` (the first time: from `initial_lookback` ago), newest first, and the new mark."""
        params = {**params, "max_results": self.config.max_results, "tweet.fields": TWEET_FIELDS,
                  "expansions": "author_id", "user.fields": USER_FIELDS}
        if since:
            params["since_id"] = since
        else:
            params["start_time"] = iso_utc(self.clock() - self.config.initial_lookback)
        posts: list[Post] = []
        newest = since
        for page in range(self.config.max_pages):
            data = await self._get(path, params)
            meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
            if page == 0 and isinstance(meta.get("newest_id"), str):
                newest = meta["newest_id"]
            users = _users_by_id(data.get("includes"))
            posts += [self._to_post(t, users.get(t.get("author_id"))) for t in data.get("data") or [] if _valid(t)]
            if not isinstance(meta.get("next_token"), str):
                break
            params = {**params, "pagination_token": meta["next_token"]}
        else:
            if since:
                log_backlog_skipped(self.source_id, key, self.config.max_pages)
        return posts, newest

    async def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        what = f"x {path}"
        data, wait = await get_json(self.http, str(httpx.URL(f"{self.api}{path}", params=params)),
                                    self.config.bearer_token, what, self.clock(), max_bytes=self.config.max_bytes,
                                    timeout=self.config.timeout)
        if wait is not None:
            raise RateLimitedError(f"{what}: rate limit used up; it resets in {wait:.0f}s", wait)
        return data

    def _to_post(self, tweet: dict[str, Any], user: dict[str, Any] | None) -> Post:
        user = user or {}
        username = str(user.get("username") or "")
        tweet_id = tweet["id"]
        metrics = tweet.get("public_metrics") if isinstance(tweet.get("public_metrics"), dict) else {}
        followers = (user.get("public_metrics") or {}).get("followers_count") \
            if isinstance(user.get("public_metrics"), dict) else None
        lang = tweet.get("lang")
        return Post(
            source_id=self.source_id,
            platform=self.platform,
            id=tweet_id,
            url=f"https://x.com/{username or 'i/web'}/status/{tweet_id}",
            text=str(tweet.get("text") or "")[:MAX_TEXT],
            author=Author(handle=username, display_name=str(user.get("name") or ""),
                          followers=followers if isinstance(followers, int) else None),
            published_at=from_iso(tweet.get("created_at")),
            engagement=Engagement(likes=_count(metrics, "like_count"),
                                  reposts=_count(metrics, "retweet_count") + _count(metrics, "quote_count"),
                                  replies=_count(metrics, "reply_count")),
            lang_hint=lang if isinstance(lang, str) and lang not in ("und", "zxx") else None,
            raw={"tweet_id": tweet_id, "author_id": tweet.get("author_id"), "verified": bool(user.get("verified")),
                 "conversation_id": tweet.get("conversation_id")},
        )


def search_queries(terms: list[str], include_retweets: bool, lang: str | None, max_length: int) -> list[str]:
    """Quoted keywords joined with OR, as few queries as fit in `max_length` characters each."""
    suffix = ("" if include_retweets else " -is:retweet") + (f" lang:{lang}" if lang else "")
    phrases = ['"' + t.replace('"', " ").strip() + '"' for t in terms]
    queries: list[list[str]] = []
    for phrase in phrases:
        if queries and len(_query(queries[-1] + [phrase], suffix)) <= max_length:
            queries[-1].append(phrase)
        else:
            queries.append([phrase])
    return [_query(group, suffix) for group in queries]


def _query(phrases: list[str], suffix: str) -> str:
    return f"({' OR '.join(phrases)}){suffix}"


async def get_json(http: httpx.AsyncClient, url: str, token: SecretStr, what: str, now: float, *, max_bytes: int,
                   timeout: float) -> tuple[dict[str, Any], float | None]:
    """One X API v2 GET: its JSON object and, when it used up its rate-limit window (`x-rate-limit-remaining: 0`),
    the seconds until the window resets (else None). A 429 is RateLimitedError until the reset; 401/403 are
    AuthFailedError with X's reason."""
    headers = {"Authorization": f"Bearer {token.get_secret_value()}"}
    response, body = await send_capped(http, "GET", url, headers=headers, max_bytes=max_bytes, timeout=timeout)
    reset = _seconds_to_reset(response.headers, now)
    if response.status_code == 429:
        raise RateLimitedError(f"{what}: HTTP 429 (rate limit used up; it resets in {reset:.0f}s)", reset)
    if response.status_code in (401, 403):
        raise AuthFailedError(f"{what}: HTTP {response.status_code}: {_auth_reason(response.status_code, body)}")
    raise_for_status(response, what)
    data = parse_json(body, what)
    used_up = response.headers.get("x-rate-limit-remaining") == "0"
    return (data if isinstance(data, dict) else {}), reset if used_up else None


def _seconds_to_reset(headers: httpx.Headers, now: float) -> float:
    """Until `x-rate-limit-reset` (epoch seconds); a whole window when X does not say."""
    reset = headers.get("x-rate-limit-reset", "")
    return max(int(reset) - now, 1.0) if reset.isdigit() else WINDOW


def _auth_reason(status: int, body: bytes) -> str:
    """X's problem JSON says why: a revoked token (401), or a plan without this endpoint (403 client-not-enrolled)."""
    problem = json_object(body) or {}
    if problem.get("reason") == "client-not-enrolled":
        return ("this plan has no access to the endpoint (the Free plan cannot search: upgrade, or set "
                "search: false and use mention_accounts)")
    detail = problem.get("detail") or problem.get("title")
    reason = str(detail)[:200] if detail else "rejected"
    return f"bearer_token {'rejected' if status == 401 else 'not allowed'}: {reason}"


def _users_by_id(includes: Any) -> dict[str, dict[str, Any]]:
    users = includes.get("users") if isinstance(includes, dict) else None
    return {u["id"]: u for u in users or [] if isinstance(u, dict) and isinstance(u.get("id"), str)}


def _valid(tweet: Any) -> bool:
    return isinstance(tweet, dict) and isinstance(tweet.get("id"), str) and tweet["id"].isdigit()


def _count(metrics: dict[str, Any], key: str) -> int:
    value = metrics.get(key)
    return value if isinstance(value, int) and value > 0 else 0



@registry.source("x", XConfig)
def make_x(source_id: str, config: XConfig, ctx: registry.PluginContext) -> XSource:
    return XSource(source_id, config, ctx)
