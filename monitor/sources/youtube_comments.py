"""YouTube Data API v3: comments on the brand's channel, and on the newest videos a keyword search finds.

`commentThreads.list` with order=time gives the newest top-level comments first; paging stops at the first one
already seen (the cursor keeps, per channel/video, the newest `publishedAt` and the ids at that instant).
YouTube charges quota units per call (search.list 100, commentThreads.list 1; 10,000 a day by default) and resets
at midnight Pacific time. The units spent are counted per Pacific day in the cursor: a poll that would go past
`daily_quota` stops early (what it read is kept), and the next one waits for the reset with RateLimitedError.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import structlog
from pydantic import Field, SecretStr, model_validator

from .. import registry
from ..errors import AuthFailedError, PermanentError, RateLimitedError
from ..http import raise_for_status, send_capped
from ..models import Author, Engagement, Post
from ..settings import Duration, SourceConfig
from .base import FetchResult, SourceState, search_terms
from .common import (
    MAX_TEXT,
    Watermark,
    as_dict,
    dump_cursor,
    from_iso,
    iso_utc,
    json_object,
    load_cursor,
    log_backlog_skipped,
    parse_json,
)

log = structlog.get_logger()
PACIFIC = ZoneInfo("America/Los_Angeles")
COST = {"search": 100, "commentThreads": 1}
_QUOTA_USED_UP = {"quotaExceeded", "dailyLimitExceeded"}
_BAD_KEY = {"keyInvalid", "accessNotConfigured", "keyExpired", "API_KEY_INVALID"}
_COMMENTS_CLOSED = {"commentsDisabled", "forbidden"}


class YouTubeCommentsConfig(SourceConfig):
    type: Literal["youtube_comments"]
    every: Duration = 1800.0  # a search costs 100 units: 48 polls a day use about half the default quota
    api_key: SecretStr
    api_url: str = "https://www.googleapis.com/youtube/v3"
    channel_id: str | None = None     # the brand's channel (UC...): comments on all its videos
    search: bool = False              # also read comments on the newest videos matching the brands' keywords
    max_videos: int = Field(default=5, ge=1, le=50)
    video_age: Duration = 7 * 86400.0  # how old a found video may be
    max_pages: int = Field(default=3, ge=1, le=20)
    lookback: Duration = 86400.0      # how far back the first poll of a channel/video looks
    daily_quota: int = Field(default=10_000, ge=1)

    @model_validator(mode="after")
    def _something_to_read(self) -> YouTubeCommentsConfig:
        if not self.search and not self.channel_id:
            raise ValueError("no channel_id and search is off: there is nothing to read")
        return self


class _OutOfQuota(Exception):
    """The next call would spend past `daily_quota`."""


class _CommentsClosed(PermanentError):
    """Comments are turned off (or hidden) on one video."""


class YouTubeCommentsSource:
    platform = "youtube"

    def __init__(self, source_id: str, config: YouTubeCommentsConfig, ctx: registry.PluginContext,
                 clock: Callable[[], float] = time.time):
        self.source_id, self.config, self.http, self.clock = source_id, config, ctx.http, clock
        self.terms = search_terms(ctx.brands, config.brands) if config.search else []
        self.closed_logged: set[str] = set()
        self.used = 0  # quota units spent today, set from the cursor at the start of each poll

    async def fetch(self, state: SourceState) -> FetchResult:
        cursor = load_cursor(state.cursor)
        quota = cursor.get("quota") if isinstance(cursor.get("quota"), dict) else {}
        day = self._pacific_day()
        used = quota.get("used") if quota.get("day") == day and isinstance(quota.get("used"), int) else 0
        if used + COST["commentThreads"] > self.config.daily_quota:
            raise RateLimitedError(f"youtube: daily_quota of {self.config.daily_quota} units used up "
                                   "(it resets at midnight Pacific time)", self._until_reset())
        self.used = used
        marks = {k: v for k, v in cursor.items() if k != "quota"}
        posts: dict[str, Post] = {}
        try:
            await self._read_all(marks, posts)
        except _OutOfQuota:
            log.warning("youtube_quota_reached", source_id=self.source_id, used=self.used)
        return FetchResult(posts=list(posts.values()),
                           cursor=dump_cursor({**marks, "quota": {"day": day, "used": self.used}}))

    async def _read_all(self, marks: dict[str, Any], posts: dict[str, Post]) -> None:
        """Read every target in turn, updating `marks` and `posts` as each one completes."""
        if self.config.channel_id:
            key = f"channel:{self.config.channel_id}"
            found, marks[key] = await self._threads({"allThreadsRelatedToChannelId": self.config.channel_id},
                                                    marks.get(key))
            posts.update((p.id, p) for p in found)
        for video_id in await self._found_videos():
            key = f"video:{video_id}"
            try:
                found, marks[key] = await self._threads({"videoId": video_id}, marks.get(key))
            except _CommentsClosed as exc:
                if video_id not in self.closed_logged:
                    self.closed_logged.add(video_id)
                    log.info("youtube_video_skipped", source_id=self.source_id, video_id=video_id, reason=str(exc))
                continue
            posts.update((p.id, p) for p in found)

    async def _found_videos(self) -> list[str]:
        if not self.terms:
            return []
        data = await self._call("search", {
            "part": "snippet", "type": "video", "order": "date", "maxResults": self.config.max_videos,
            "q": "|".join(f'"{t}"' for t in self.terms),
            "publishedAfter": iso_utc(self.clock() - self.config.video_age)})
        ids = [i.get("id", {}).get("videoId") for i in _items(data) if isinstance(i.get("id"), dict)]
        return [i for i in ids if isinstance(i, str)][:self.config.max_videos]

    async def _threads(self, target: dict[str, str], value: Any) -> tuple[list[Post], dict[str, Any]]:
        """New top-level comments, newest first, and the new mark (a Watermark at the newest `publishedAt`)."""
        mark = Watermark.load(value) or Watermark(self.clock() - self.config.lookback)
        params = {**target, "part": "snippet", "order": "time", "textFormat": "plainText", "maxResults": 100}
        posts: list[Post] = []
        for _ in range(self.config.max_pages):
            data = await self._call("commentThreads", params)
            for thread in _items(data):
                post = self._to_post(thread)
                if post is not None and post.published_at.timestamp() < mark.since():
                    return posts, _advanced(mark, posts)
                if post is not None and mark.is_new(post.id, post.published_at.timestamp()):
                    posts.append(post)
            if not isinstance(data.get("nextPageToken"), str):
                break
            params = {**params, "pageToken": data["nextPageToken"]}
        else:
            if value:
                log_backlog_skipped(self.source_id, str(target), self.config.max_pages)
        return posts, _advanced(mark, posts)

    async def _call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if self.used + COST[method] > self.config.daily_quota:
            raise _OutOfQuota()
        self.used += COST[method]
        what = f"youtube {method}.list"
        response, body = await send_capped(
            self.http, "GET", f"{self.config.api_url.rstrip('/')}/{method}",
            params={**params, "key": self.config.api_key.get_secret_value()},
            max_bytes=self.config.max_bytes, timeout=self.config.timeout)
        if response.status_code >= 400:
            self._raise_api_error(what, response.status_code, body)
        raise_for_status(response, what)
        data = parse_json(body, what)
        return data if isinstance(data, dict) else {}

    def _raise_api_error(self, what: str, status: int, body: bytes) -> None:
        """Google's error body names a reason per error: map the known ones, leave the rest to the status."""
        error = (json_object(body) or {}).get("error")
        error = error if isinstance(error, dict) else {}
        reasons = {e.get("reason") for e in error.get("errors") or [] if isinstance(e, dict)}
        reasons |= {d.get("reason") for d in error.get("details") or [] if isinstance(d, dict)}
        text = f"{what}: HTTP {status}: {str(error.get('message') or 'no message')[:200]}"
        if reasons & _QUOTA_USED_UP:
            raise RateLimitedError(f"{text} (it resets at midnight Pacific time)", self._until_reset())
        if reasons & _BAD_KEY:
            raise AuthFailedError(f"{text} (check api_key: a key of a Google Cloud project with the "
                                  "YouTube Data API v3 enabled)")
        if reasons & _COMMENTS_CLOSED:
            raise _CommentsClosed(text)

    def _to_post(self, thread: dict[str, Any]) -> Post | None:
        snippet = as_dict(thread.get("snippet"))
        comment = as_dict(snippet.get("topLevelComment"))
        fields = as_dict(comment.get("snippet"))
        published, comment_id = from_iso(fields.get("publishedAt")), comment.get("id")
        video_id = fields.get("videoId") or snippet.get("videoId")
        if published is None or not isinstance(comment_id, str) or not isinstance(video_id, str):
            return None
        return Post(
            source_id=self.source_id,
            platform=self.platform,
            id=comment_id,
            url=f"https://www.youtube.com/watch?v={video_id}&lc={comment_id}",
            text=str(fields.get("textOriginal") or fields.get("textDisplay") or "")[:MAX_TEXT],
            author=Author(handle=str(fields.get("authorChannelUrl") or ""),
                          display_name=str(fields.get("authorDisplayName") or "")),
            published_at=published,
            engagement=Engagement(likes=_count(fields.get("likeCount")),
                                  replies=_count(snippet.get("totalReplyCount"))),
            raw={"video_id": video_id, "channel_id": snippet.get("channelId")},
        )

    def _pacific_day(self) -> str:
        return datetime.fromtimestamp(self.clock(), tz=PACIFIC).date().isoformat()

    def _until_reset(self) -> float:
        now = datetime.fromtimestamp(self.clock(), tz=PACIFIC)
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=PACIFIC)
        return max(midnight.timestamp() - self.clock(), 1.0)


def _advanced(mark: Watermark, posts: list[Post]) -> dict[str, Any]:
    return mark.advanced((p.id, p.published_at.timestamp()) for p in posts).dump()


def _items(data: dict[str, Any]) -> list[dict[str, Any]]:
    items = data.get("items")
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []



def _count(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0



@registry.source("youtube_comments", YouTubeCommentsConfig)
def make_youtube_comments(source_id: str, config: YouTubeCommentsConfig,
                          ctx: registry.PluginContext) -> YouTubeCommentsSource:
    return YouTubeCommentsSource(source_id, config, ctx)
