"""Hacker News via the Algolia search API: `search_by_date` per keyword, stories and comments.

Also home of the small helpers the other social sources (reddit, mastodon, bluesky) share: a capped request
that returns the body whatever the status, an HTML-to-text converter and a time watermark with overlap.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import Any, Literal

import httpx
import structlog
from pydantic import Field

from .. import registry
from ..errors import PermanentError, TransientError
from ..http import get_capped, redact
from ..models import Author, Engagement, Post
from ..settings import Duration, SourceConfig
from .base import FetchResult, SourceState, search_terms

MAX_TEXT_CHARS = 20_000
MAX_SEEN_IDS = 300
log = structlog.get_logger()


# ---------------------------------------------------------------------------------------------------------------
# Shared helpers (used by reddit, mastodon, bluesky too)

async def send_capped(client: httpx.AsyncClient, method: str, url: str, *, max_bytes: int, timeout: float,
                      **kwargs: Any) -> tuple[httpx.Response, bytes]:
    """Send a request and read at most `max_bytes` of its body, whatever the status (callers map errors
    themselves because some APIs put the reason in the body, e.g. Bluesky's 400 ExpiredToken)."""
    what = redact(url)
    try:
        async with client.stream(method, url, timeout=timeout, **kwargs) as response:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise PermanentError(f"{what}: response of {declared} bytes exceeds the {max_bytes}-byte cap")
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise PermanentError(f"{what}: response exceeds the {max_bytes}-byte cap")
                chunks.append(chunk)
            return response, b"".join(chunks)
    except httpx.TimeoutException as exc:
        raise TransientError(f"timed out: {method} {what}") from exc
    except httpx.HTTPError as exc:
        raise TransientError(f"{type(exc).__name__}: {method} {what}") from exc


def parse_json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise PermanentError(f"{what}: response is not JSON") from exc


def load_cursor(cursor: str | None) -> dict[str, Any]:
    """A JSON object cursor; an unreadable one (older format, hand-edited) counts as none."""
    if not cursor:
        return {}
    try:
        value = json.loads(cursor)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def dump_cursor(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class _TextExtractor(HTMLParser):
    _BREAKS = {"p", "br", "div", "li", "blockquote", "pre", "tr", "h1", "h2", "h3", "h4", "h5", "h6"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str | None) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, paragraphs as blank-line breaks."""
    if not html:
        return ""
    parser = _TextExtractor()
    parser.feed(html[: MAX_TEXT_CHARS * 4])
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]
    text = "\n".join(line for line in lines if line)
    return text[:MAX_TEXT_CHARS]


def log_backlog_skipped(source_id: str, query: str, pages: int) -> None:
    """More new items than `max_pages` pages hold: the oldest of them are skipped (poll more often to avoid it)."""
    log.warning("source_backlog_skipped", source_id=source_id, query=query, pages=pages)


def from_epoch(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def from_iso(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


@dataclass(frozen=True)
class Watermark:
    """Newest timestamp seen for one query, plus the ids seen in the last `overlap` seconds before it.

    Each poll asks for items newer than `t - overlap` (search indexes lag, so an item may show up after a newer
    one) and drops the ids already seen; the store's dedup remains the last line of defence. `floor` is where
    the first poll started: nothing older is ever fetched, so the first poll does not backfill history."""
    t: float
    seen: dict[str, float] = field(default_factory=dict)
    floor: float = 0.0

    @classmethod
    def first(cls, since: float, stamps: list[float], page_full: bool) -> Watermark:
        """The mark before the first poll's items are applied: a full page means older items were left out."""
        return cls(since, floor=min(stamps) if page_full and stamps else since)

    @classmethod
    def load(cls, value: Any) -> Watermark | None:
        if not isinstance(value, dict) or not isinstance(value.get("t"), (int, float)):
            return None
        seen: dict[Any, Any] = value["seen"] if isinstance(value.get("seen"), dict) else {}
        floor = value["floor"] if isinstance(value.get("floor"), (int, float)) else 0.0
        return cls(float(value["t"]), {str(k): float(v) for k, v in seen.items() if isinstance(v, (int, float))},
                   float(floor))

    def dump(self) -> dict[str, Any]:
        return {"t": self.t, "seen": self.seen, "floor": self.floor}

    def since(self, overlap: float) -> float:
        return max(self.t - overlap, self.floor)

    def is_new(self, item_id: str, ts: float, overlap: float) -> bool:
        return item_id not in self.seen and ts > self.since(overlap)

    def advanced(self, items: Iterable[tuple[str, float]], overlap: float) -> Watermark:
        seen = dict(self.seen)
        seen.update(items)
        t = max([self.t, *seen.values()])
        recent = sorted(((ts, i) for i, ts in seen.items() if ts > t - overlap), reverse=True)[:MAX_SEEN_IDS]
        return Watermark(t, {i: ts for ts, i in recent}, self.floor)


# ---------------------------------------------------------------------------------------------------------------
# Hacker News

class HackerNewsConfig(SourceConfig):
    type: Literal["hacker_news"]
    every: Duration = 120.0
    api_url: str = "https://hn.algolia.com/api/v1"
    tags: str = "(story,comment)"
    hits_per_page: int = Field(default=50, ge=1, le=1000)
    max_pages: int = Field(default=5, ge=1, le=50)
    initial_lookback: Duration = 3600.0
    overlap: Duration = 300.0


class HackerNewsSource:
    platform = "hacker_news"

    def __init__(self, source_id: str, config: HackerNewsConfig, ctx: registry.PluginContext,
                 clock: Callable[[], float] = time.time):
        self.source_id, self.config, self.http, self.clock = source_id, config, ctx.http, clock
        self.terms = search_terms(ctx.brands, config.brands)

    async def fetch(self, state: SourceState) -> FetchResult:
        marks = load_cursor(state.cursor)
        posts: dict[str, Post] = {}
        for term in self.terms:
            mark = Watermark.load(marks.get(term))
            hits = await self._search(term, mark)
            fresh = [h for h in hits if mark is None or mark.is_new(str(h["objectID"]), h["created_at_i"],
                                                                      self.config.overlap)]
            for hit in fresh:
                post = self._to_post(hit)
                if post is not None:
                    posts.setdefault(post.id, post)
            start = mark or Watermark.first(self.clock() - self.config.initial_lookback,
                                            [h["created_at_i"] for h in hits],
                                            len(hits) >= self.config.hits_per_page)
            marks[term] = start.advanced(((str(h["objectID"]), h["created_at_i"]) for h in hits),
                                         self.config.overlap).dump()
        marks = {term: marks[term] for term in self.terms if term in marks}
        return FetchResult(posts=list(posts.values()), cursor=dump_cursor(marks))

    async def _search(self, term: str, mark: Watermark | None) -> list[dict[str, Any]]:
        since = mark.since(self.config.overlap) if mark else self.clock() - self.config.initial_lookback
        pages = self.config.max_pages if mark else 1  # first poll: only the newest page, no backfill
        hits: list[dict[str, Any]] = []
        for page in range(pages):
            params = {"query": term, "tags": self.config.tags, "numericFilters": f"created_at_i>{int(since)}",
                      "hitsPerPage": self.config.hits_per_page, "page": page}
            url = str(httpx.URL(f"{self.config.api_url.rstrip('/')}/search_by_date", params=params))
            _, body = await get_capped(self.http, url, max_bytes=self.config.max_bytes, timeout=self.config.timeout)
            data = parse_json(body, "hacker_news search_by_date")
            batch = [h for h in data.get("hits") or [] if _valid_hit(h) and h["created_at_i"] > since] \
                if isinstance(data, dict) else []
            hits += batch
            if not batch or page + 1 >= int(data.get("nbPages") or 0):
                break
        else:
            if mark is not None:
                log_backlog_skipped(self.source_id, term, pages)
        return hits

    def _to_post(self, hit: dict[str, Any]) -> Post | None:
        item_id = str(hit["objectID"])
        is_comment = "comment" in (hit.get("_tags") or []) or hit.get("comment_text") is not None
        text = html_to_text(hit.get("comment_text") if is_comment else hit.get("story_text"))
        if "<p>" in text:  # some older items are escaped twice (&#60;p&#62;)
            text = html_to_text(text)
        author = str(hit.get("author") or "")
        return Post(
            source_id=self.source_id,
            platform=self.platform,
            id=item_id,
            url=f"https://news.ycombinator.com/item?id={item_id}",
            title="" if is_comment else str(hit.get("title") or ""),
            text=text,
            author=Author(handle=author, display_name=author),
            published_at=from_epoch(hit["created_at_i"]),
            engagement=Engagement(likes=int(hit.get("points") or 0), replies=int(hit.get("num_comments") or 0)),
            raw={k: hit.get(k) for k in ("objectID", "story_id", "parent_id", "story_title", "url", "points",
                                         "num_comments") if hit.get(k) is not None}
            | {"kind": "comment" if is_comment else "story"},
        )


def _valid_hit(hit: Any) -> bool:
    return isinstance(hit, dict) and hit.get("objectID") is not None and isinstance(hit.get("created_at_i"), int)


@registry.source("hacker_news", HackerNewsConfig)
def make_hacker_news(source_id: str, config: HackerNewsConfig, ctx: registry.PluginContext) -> HackerNewsSource:
    return HackerNewsSource(source_id, config, ctx)
