"""Bluesky: `app.bsky.feed.searchPosts` (sort=latest) through the user's PDS, logged in with an app password.

The session (createSession) is kept in memory and renewed with refreshSession when the access token expires;
logging in again is the last resort because createSession has tight per-account limits. Search results carry
no follower counts, so authors are looked up with getProfiles (25 per call) and cached for `profile_ttl`.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Literal

import httpx
import structlog
from pydantic import Field, SecretStr

from .. import registry
from ..errors import AuthFailedError, ExternalError, PermanentError
from ..http import raise_for_status, send_capped
from ..models import Author, Engagement, Post
from ..settings import Duration, SourceConfig
from .base import FetchResult, SourceState, search_terms
from .common import MAX_TEXT, Watermark, dump_cursor, from_iso, load_cursor, log_backlog_skipped, parse_json

PROFILE_BATCH = 25
PROFILE_CACHE_MAX = 5000
LOGGED_IN_ONLY = "!no-unauthenticated"
log = structlog.get_logger()


class BlueskyConfig(SourceConfig):
    type: Literal["bluesky"]
    every: Duration = 120.0
    identifier: str = Field(min_length=1)
    app_password: SecretStr
    service_url: str = "https://bsky.social"
    lang: str | None = None
    limit: int = Field(default=50, ge=1, le=100)
    max_pages: int = Field(default=3, ge=1, le=20)
    initial_lookback: Duration = 3600.0
    overlap: Duration = 600.0
    follower_counts: bool = True
    profile_ttl: Duration = 21600.0
    include_logged_in_only: bool = False


class BlueskySource:
    platform = "bluesky"

    def __init__(self, source_id: str, config: BlueskyConfig, ctx: registry.PluginContext,
                 clock: Callable[[], float] = time.time):
        self.source_id, self.config, self.http, self.clock = source_id, config, ctx.http, clock
        self.terms = search_terms(ctx.brands, config.brands)
        self.xrpc = f"{config.service_url.rstrip('/')}/xrpc"
        self._access: str | None = None
        self._refresh: str | None = None
        self._followers: dict[str, tuple[int | None, float]] = {}

    async def fetch(self, state: SourceState) -> FetchResult:
        marks = load_cursor(state.cursor)
        found: dict[str, dict[str, Any]] = {}
        for term in self.terms:
            mark = Watermark.load(marks.get(term))
            items, page_full = await self._search(term, mark)
            for item in items:
                if mark is None or mark.is_new(item["uri"], _sort_at(item), self.config.overlap):
                    found.setdefault(item["uri"], item)
            start = mark or Watermark.first(self.clock() - self.config.initial_lookback,
                                            [_sort_at(i) for i in items], page_full)
            marks[term] = start.advanced(((i["uri"], _sort_at(i)) for i in items), self.config.overlap).dump()
        visible = [i for i in found.values() if self.config.include_logged_in_only or not _logged_in_only(i)]
        followers = await self._follower_counts({i["author"]["did"] for i in visible})
        posts = [self._to_post(i, followers.get(i["author"]["did"])) for i in visible]
        marks = {term: marks[term] for term in self.terms if term in marks}
        return FetchResult(posts=posts, cursor=dump_cursor(marks))

    async def _search(self, term: str, mark: Watermark | None) -> tuple[list[dict[str, Any]], bool]:
        since = mark.since(self.config.overlap) if mark else self.clock() - self.config.initial_lookback
        params: dict[str, Any] = {"q": term, "sort": "latest", "limit": self.config.limit, "since": _iso(since)}
        if self.config.lang:
            params["lang"] = self.config.lang
        items: list[dict[str, Any]] = []
        page_full = False
        pages = self.config.max_pages if mark else 1
        for _ in range(pages):
            data = await self._get("app.bsky.feed.searchPosts", params)
            page = [p for p in data.get("posts") or [] if _valid_post(p)] if isinstance(data, dict) else []
            items += [p for p in page if _sort_at(p) >= since]
            page_full = len(page) >= self.config.limit
            next_cursor = data.get("cursor") if isinstance(data, dict) else None
            if not page or not isinstance(next_cursor, str) or min(map(_sort_at, page)) < since:
                break
            params = {**params, "cursor": next_cursor}
        else:
            if mark is not None:
                log_backlog_skipped(self.source_id, term, pages)
        return items, page_full

    async def _follower_counts(self, dids: set[str]) -> dict[str, int | None]:
        if not self.config.follower_counts:
            return {}
        now = self.clock()
        stale = sorted(d for d in dids if d not in self._followers
                       or now - self._followers[d][1] > self.config.profile_ttl)
        try:
            for start in range(0, len(stale), PROFILE_BATCH):
                batch = stale[start:start + PROFILE_BATCH]
                data = await self._get("app.bsky.actor.getProfiles", {"actors": batch})
                profiles = data.get("profiles") if isinstance(data, dict) else None
                counts = {p.get("did"): p.get("followersCount") for p in profiles or [] if isinstance(p, dict)}
                for did in batch:
                    count = counts.get(did)
                    self._followers[did] = (count if isinstance(count, int) else None, now)
        except AuthFailedError:
            raise
        except ExternalError as exc:  # enrichment is optional: deliver the posts without counts
            log.warning("source_enrichment_failed", source_id=self.source_id, error=str(exc))
        self._trim_cache()
        return {d: self._followers[d][0] for d in dids if d in self._followers}

    def _trim_cache(self) -> None:
        if len(self._followers) > PROFILE_CACHE_MAX:
            oldest = sorted(self._followers, key=lambda d: self._followers[d][1])
            for did in oldest[: len(self._followers) - PROFILE_CACHE_MAX]:
                del self._followers[did]

    async def _get(self, method: str, params: dict[str, Any]) -> Any:
        for attempt in range(3):
            if self._access is None:
                await self._login()
            response, body = await send_capped(
                self.http, "GET", f"{self.xrpc}/{method}", params=params,
                headers={"Authorization": f"Bearer {self._access}"},
                max_bytes=self.config.max_bytes, timeout=self.config.timeout)
            error = _xrpc_error(response, body)
            if error in ("ExpiredToken", "InvalidToken") and attempt < 2:
                await self._renew()
                continue
            if response.status_code == 401 and attempt < 2:
                self._access = self._refresh = None  # session revoked: a fresh login says whether the password is
                continue
            if response.status_code == 401 or error in ("ExpiredToken", "InvalidToken"):
                raise AuthFailedError(f"bluesky: a fresh session was rejected for {method} (HTTP "
                                      f"{response.status_code}, {error or 'no reason'}); check the machine's clock")
            if response.status_code == 403:
                raise AuthFailedError(f"bluesky: HTTP 403 for {method}: this host refuses the request for this "
                                      "account or IP; point service_url at your PDS (e.g. https://bsky.social)")
            if response.status_code == 400:
                raise PermanentError(f"bluesky {method}: HTTP 400 {error or ''}".rstrip())
            raise_for_status(response, f"bluesky {method}")
            return parse_json(body, f"bluesky {method}")
        raise AssertionError("unreachable")

    async def _login(self) -> None:
        payload = {"identifier": self.config.identifier, "password": self.config.app_password.get_secret_value()}
        response, body = await send_capped(
            self.http, "POST", f"{self.xrpc}/com.atproto.server.createSession", json=payload,
            max_bytes=65536, timeout=self.config.timeout)
        error = _xrpc_error(response, body)
        if response.status_code == 401:
            raise AuthFailedError("bluesky: identifier/app_password rejected (HTTP 401)")
        if response.status_code == 400 and error:
            raise AuthFailedError(f"bluesky: login refused ({error}); use an app password for identifier "
                                  f"{self.config.identifier!r}")
        raise_for_status(response, "bluesky createSession")
        self._store_session(parse_json(body, "bluesky createSession"))
        log.info("source_session_created", source_id=self.source_id)

    async def _renew(self) -> None:
        """refreshSession with the refresh token; if that is refused too, log in again."""
        if self._refresh:
            response, body = await send_capped(
                self.http, "POST", f"{self.xrpc}/com.atproto.server.refreshSession",
                headers={"Authorization": f"Bearer {self._refresh}"}, max_bytes=65536, timeout=self.config.timeout)
            if response.status_code == 200:
                self._store_session(parse_json(body, "bluesky refreshSession"))
                log.info("source_session_refreshed", source_id=self.source_id)
                return
            if response.status_code not in (400, 401):
                raise_for_status(response, "bluesky refreshSession")
            log.info("source_session_refresh_failed", source_id=self.source_id,
                     error=_xrpc_error(response, body) or f"HTTP {response.status_code}")
        self._access = self._refresh = None
        await self._login()

    def _store_session(self, data: Any) -> None:
        if not isinstance(data, dict) or not isinstance(data.get("accessJwt"), str):
            raise PermanentError("bluesky: session response without accessJwt")
        self._access = data["accessJwt"]
        self._refresh = data.get("refreshJwt") if isinstance(data.get("refreshJwt"), str) else None

    def _to_post(self, item: dict[str, Any], followers: int | None) -> Post:
        author = item["author"]
        record: dict[str, Any] = item["record"] if isinstance(item.get("record"), dict) else {}
        handle = str(author.get("handle") or "")
        profile = handle if handle and handle != "handle.invalid" else author["did"]
        rkey = item["uri"].rsplit("/", 1)[-1]
        langs = record.get("langs") if isinstance(record.get("langs"), list) else []
        reply: dict[str, Any] = record["reply"] if isinstance(record.get("reply"), dict) else {}
        return Post(
            source_id=self.source_id,
            platform=self.platform,
            id=item["uri"],
            url=f"https://bsky.app/profile/{profile}/post/{rkey}",
            text=str(record.get("text") or "")[:MAX_TEXT],
            author=Author(handle=handle, display_name=str(author.get("displayName") or ""), followers=followers),
            published_at=from_iso(item.get("indexedAt")) or from_iso(record.get("createdAt")),
            engagement=Engagement(likes=_count(item, "likeCount"),
                                  reposts=_count(item, "repostCount") + _count(item, "quoteCount"),
                                  replies=_count(item, "replyCount")),
            lang_hint=langs[0] if langs and isinstance(langs[0], str) else None,
            raw={"uri": item["uri"], "cid": item.get("cid"), "did": author["did"],
                 "created_at": record.get("createdAt"), "indexed_at": item.get("indexedAt"),
                 "reply_parent": reply["parent"].get("uri") if isinstance(reply.get("parent"), dict) else None},
        )


def _xrpc_error(response: httpx.Response, body: bytes) -> str | None:
    """The `error` name of an XRPC error body (ExpiredToken, AuthenticationRequired, ...)."""
    if response.status_code < 400:
        return None
    try:
        data = parse_json(body, "")
    except PermanentError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    return str(error)[:80] if error else None


def _valid_post(post: Any) -> bool:
    return (isinstance(post, dict) and isinstance(post.get("uri"), str) and isinstance(post.get("author"), dict)
            and isinstance(post["author"].get("did"), str) and _sort_at(post) > 0)


def _sort_at(post: dict[str, Any]) -> float:
    """What `since` filters on: the earlier of indexedAt and the client-set createdAt (epoch seconds)."""
    record: dict[str, Any] = post["record"] if isinstance(post.get("record"), dict) else {}
    stamps = [t.timestamp() for t in (from_iso(post.get("indexedAt")), from_iso(record.get("createdAt"))) if t]
    return min(stamps, default=0.0)


def _logged_in_only(post: dict[str, Any]) -> bool:
    labels = [*(post.get("labels") or []), *(post["author"].get("labels") or [])]
    return any(isinstance(label, dict) and label.get("val") == LOGGED_IN_ONLY for label in labels)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _count(item: dict[str, Any], key: str) -> int:
    value = item.get(key)
    return value if isinstance(value, int) and value > 0 else 0


@registry.source("bluesky", BlueskyConfig)
def make_bluesky(source_id: str, config: BlueskyConfig, ctx: registry.PluginContext) -> BlueskySource:
    return BlueskySource(source_id, config, ctx)
