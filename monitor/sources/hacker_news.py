"""Hacker News via the Algolia search API: `search_by_date` per keyword, stories and comments."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

import httpx
import structlog
from pydantic import Field

from .. import registry
from ..http import get_capped
from ..models import Author, Engagement, Post
from ..settings import Duration, SourceConfig
from .base import FetchResult, SourceState, search_terms
from .common import Watermark, dump_cursor, from_epoch, html_to_text, load_cursor, log_backlog_skipped, parse_json

log = structlog.get_logger()


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
            params = {"query": term, "tags": self.config.tags, "numericFilters": f"created_at_i>={int(since)}",
                      "hitsPerPage": self.config.hits_per_page, "page": page}
            url = str(httpx.URL(f"{self.config.api_url.rstrip('/')}/search_by_date", params=params))
            _, body = await get_capped(self.http, url, max_bytes=self.config.max_bytes, timeout=self.config.timeout)
            data = parse_json(body, "hacker_news search_by_date")
            batch = [h for h in data.get("hits") or [] if _valid_hit(h) and h["created_at_i"] >= since] \
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
