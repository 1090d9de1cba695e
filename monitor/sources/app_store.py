"""Apple App Store customer reviews: the public JSON feed per app and storefront, newest first, no account.

Review ids grow over time, so the cursor is the highest review id seen per "country/app". Paging stops at the
first page that reaches back to it. Reviews rarely name the brand, so each post's text ends with a line naming
the app (from `names:` or the feed) and its rating, which the matcher and triage can see.
"""
from __future__ import annotations

import functools
import json
import re
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
import structlog
from pydantic import Field, field_validator

from .. import registry
from ..errors import PermanentError
from ..http import get_capped
from ..models import Author, Engagement, Post
from ..settings import Duration, SourceConfig
from .base import FetchResult, SourceState
from .common import FailingTargets, as_dict, poll_each

log = structlog.get_logger()

MAX_TEXT = 20_000
PAGE_SIZE = 50  # the feed serves 50 reviews a page, 10 pages at most
_APP_ID = re.compile(r"^(?:id)?(\d{5,15})$")


class AppStoreConfig(SourceConfig):
    type: Literal["app_store"]
    apps: list[str] = Field(min_length=1)             # numeric App Store ids, e.g. "284882215" or "id284882215"
    countries: list[str] = Field(default=["us"], min_length=1)  # storefront codes: us, gb, de, ir ...
    names: dict[str, str] = {}                       # app id -> name shown in alerts (default: from the feed)
    base_url: str = "https://itunes.apple.com"
    max_pages: int = Field(default=2, ge=1, le=10)
    every: Duration = 1800.0

    @field_validator("apps", mode="before")
    @classmethod
    def _app_ids(cls, apps: Any) -> Any:
        if not isinstance(apps, list):
            return apps
        ids = []
        for app in apps:
            match = _APP_ID.match(str(app).strip())
            if not match:
                raise ValueError(f"'{app}' is not an App Store app id (the digits after 'id' in the app's URL)")
            ids.append(match.group(1))
        return ids

    @field_validator("countries")
    @classmethod
    def _country_codes(cls, countries: list[str]) -> list[str]:
        codes = [c.strip().lower() for c in countries]
        bad = [c for c in codes if not re.fullmatch(r"[a-z]{2}", c)]
        if bad:
            raise ValueError(f"not two-letter storefront codes: {', '.join(bad)}")
        return codes


class AppStoreSource:
    def __init__(self, source_id: str, config: AppStoreConfig, http: httpx.AsyncClient):
        self.source_id, self.config, self.http = source_id, config, http
        self._failing = FailingTargets(source_id, "storefront_app")

    async def fetch(self, state: SourceState) -> FetchResult:
        """Each (storefront, app) on its own: one that fails keeps its cursor and does not hold back the others.
        A 429 stops the poll (the limit is per client address); the source fails only when every one failed."""
        polls = {f"{country}/{app_id}": functools.partial(self._poll_app, country, app_id)
                 for country in self.config.countries for app_id in self.config.apps}
        return await poll_each(polls, state.cursor, self._failing)

    async def _poll_app(self, country: str, app_id: str, last: int | None) -> tuple[list[Post], int | None]:
        found: dict[str, Post] = {}
        pages = self.config.max_pages if last is not None else 1  # a first poll reads only the newest page
        for page in range(1, pages + 1):
            feed = await self._page(country, app_id, page)
            name = self.config.names.get(app_id) or _app_name(feed) or f"app {app_id}"
            reviews = [e for e in _entries(feed) if "im:rating" in e]  # the first entry may be the app itself
            batch = [_to_post(self.source_id, country, app_id, name, e) for e in reviews]
            found.update((p.id, p) for p in batch if last is None or int(p.raw["review_id"]) > last)
            reached_cursor = any(last is None or int(p.raw["review_id"]) <= last for p in batch)
            if reached_cursor or len(reviews) < PAGE_SIZE:
                break
        else:
            if pages > 1:
                log.warning("source_results_truncated", source_id=self.source_id, app_id=app_id, country=country)
        ids = [int(p.raw["review_id"]) for p in found.values()]
        return list(found.values()), max([*ids, *([last] if last is not None else [])], default=None)

    async def _page(self, country: str, app_id: str, page: int) -> dict[str, Any]:
        base = f"{self.config.base_url.rstrip('/')}/{country}/rss/customerreviews"
        url = (f"{base}/id={app_id}/sortBy=mostRecent/json" if page == 1
               else f"{base}/page={page}/id={app_id}/sortby=mostrecent/json")
        _, body = await get_capped(self.http, url, max_bytes=self.config.max_bytes, timeout=self.config.timeout)
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        feed = data.get("feed") if isinstance(data, dict) else None
        if not isinstance(feed, dict):
            raise PermanentError(f"{url}: not an App Store review feed")
        return feed


def _entries(feed: dict[str, Any]) -> list[dict[str, Any]]:
    entry = feed.get("entry", [])
    entries = [entry] if isinstance(entry, dict) else entry  # one review comes as an object, not a list
    if not isinstance(entries, list):
        raise PermanentError("app_store: feed.entry is neither a list nor an object")
    return [e for e in entries if isinstance(e, dict)]


def _app_name(feed: dict[str, Any]) -> str:
    for entry in _entries(feed):
        if "im:name" in entry:
            return _label(entry.get("im:name"))
    return ""


def _label(node: Any) -> str:
    return str(node.get("label", "")) if isinstance(node, dict) else ""


def stars(rating: int) -> str:
    return "★" * rating + "☆" * (5 - rating)


def _to_post(source_id: str, country: str, app_id: str, app_name: str, entry: dict[str, Any]) -> Post:
    review_id, rating_text = _label(entry.get("id")), _label(entry.get("im:rating"))
    if not review_id.isdigit() or not rating_text.isdigit() or not 1 <= int(rating_text) <= 5:
        raise PermanentError(f"app_store: malformed review entry (id {review_id[:20]!r}, rating {rating_text[:5]!r})")
    rating, version = int(rating_text), _label(entry.get("im:version"))
    author = as_dict(entry.get("author"))
    title = _label(entry.get("title")).strip()
    footer = f"{stars(rating)} {rating}/5 review of {app_name} on the App Store ({country.upper()})" + \
        (f", version {version}" if version else "")
    return Post(
        source_id=source_id, platform="app_store", id=review_id,
        # reviews have no page of their own; the review id keeps each one's URL (and dedup key) distinct
        url=f"https://apps.apple.com/{country}/app/id{app_id}?see-all=reviews&reviewId={review_id}",
        title=f"{stars(rating)} {title}".strip(),
        text=f"{_label(entry.get('content')).strip()[:MAX_TEXT]}\n\n{footer}",
        author=Author(handle=_label(author.get("name")), display_name=_label(author.get("name"))),
        published_at=_parse_time(_label(entry.get("updated"))),
        engagement=Engagement(likes=_int(_label(entry.get("im:voteSum")))),
        raw={"review_id": review_id, "rating": rating, "version": version, "app_id": app_id, "country": country,
             "vote_count": _int(_label(entry.get("im:voteCount")))},
    )


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None  # older feeds carried no date; the runner's first-seen time stands in
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)



def _int(value: str) -> int:
    return int(value) if value.lstrip("-").isdigit() else 0


@registry.source("app_store", AppStoreConfig)
def make_app_store(source_id: str, config: AppStoreConfig, ctx: registry.PluginContext) -> AppStoreSource:
    return AppStoreSource(source_id, config, ctx.http)
