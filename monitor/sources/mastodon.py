"""Mastodon: public hashtag timelines on a list of instances, plus full-text status search where a token is given.

Mastodon has no public full-text search: without a token only hashtags derived from the brand keywords (or
listed in `hashtags`) are covered. Each instance sees only what reaches it, so several can be polled; the same
status seen on two instances has the same `uri` and is returned once.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import httpx
import structlog
from pydantic import Field, SecretStr, field_validator

from .. import registry
from ..errors import AuthFailedError, ExternalError
from ..http import get_capped
from ..models import Author, Engagement, Post
from ..settings import Duration, SourceConfig, Strict
from .base import FetchResult, SourceState, search_terms
from .common import dump_cursor, from_iso, html_to_text, load_cursor, parse_json

log = structlog.get_logger()


class MastodonInstance(Strict):
    url: str
    access_token: SecretStr | None = None

    @field_validator("url")
    @classmethod
    def _with_scheme(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        return value if "://" in value else f"https://{value}"

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc


class MastodonConfig(SourceConfig):
    type: Literal["mastodon"]
    every: Duration = 120.0
    instances: list[MastodonInstance] = Field(default=[MastodonInstance(url="https://mastodon.social")],
                                              min_length=1)
    hashtags: list[str] = []
    search: bool = True
    limit: int = Field(default=40, ge=1, le=40)
    first_limit: int = Field(default=20, ge=1, le=40)
    max_pages: int = Field(default=3, ge=1, le=20)
    initial_lookback: Duration = 3600.0
    respect_noindex: bool = True

    @field_validator("instances", mode="before")
    @classmethod
    def _strings_are_urls(cls, value: Any) -> Any:
        return [{"url": v} if isinstance(v, str) else v for v in value] if isinstance(value, list) else value


class MastodonSource:
    platform = "mastodon"

    def __init__(self, source_id: str, config: MastodonConfig, ctx: registry.PluginContext,
                 clock: Callable[[], float] = time.time):
        self.source_id, self.config, self.http, self.clock = source_id, config, ctx.http, clock
        self.terms = search_terms(ctx.brands, config.brands)
        self.tags = hashtags_for(config.hashtags or self.terms)
        self._pause: float | None = None
        self._failing: set[str] = set()  # instances whose last poll failed: log changes only, not every poll

    async def fetch(self, state: SourceState) -> FetchResult:
        marks = load_cursor(state.cursor)
        posts: dict[str, Post] = {}
        errors: list[ExternalError] = []
        self._pause = None
        for instance in self.config.instances:
            try:
                found, instance_marks = await self._poll_instance(instance, marks.get(instance.url) or {})
            except ExternalError as exc:
                if instance.url not in self._failing:
                    log.warning("source_instance_failed", source_id=self.source_id, instance=instance.host,
                                error=str(exc), error_kind=type(exc).__name__)
                self._failing.add(instance.url)
                errors.append(exc)
                continue
            if instance.url in self._failing:
                self._failing.discard(instance.url)
                log.info("source_instance_recovered", source_id=self.source_id, instance=instance.host)
            marks[instance.url] = instance_marks
            for post in found:
                posts.setdefault(post.id, post)
        if len(errors) == len(self.config.instances):
            raise errors[0]
        marks = {i.url: marks[i.url] for i in self.config.instances if i.url in marks}
        return FetchResult(posts=list(posts.values()), cursor=dump_cursor(marks), min_next_poll=self._pause)

    async def _poll_instance(self, instance: MastodonInstance,
                             marks: dict[str, Any]) -> tuple[list[Post], dict[str, str]]:
        """All new statuses of one instance; any error discards the lot (the cursors stay, nothing is lost)."""
        queries: list[tuple[str, str, dict[str, Any]]] = [
            (f"tag:{tag}", f"/api/v1/timelines/tag/{quote(tag, safe='')}", {}) for tag in self.tags]
        if instance.access_token and self.config.search:
            queries += [(f"search:{t}", "/api/v2/search", {"q": t, "type": "statuses", "resolve": "false"})
                        for t in self.terms]
        posts: list[Post] = []
        new_marks: dict[str, str] = {}
        for key, path, params in queries:
            since = marks.get(key) if isinstance(marks.get(key), str) else None
            statuses = await self._statuses(instance, path, params, since)
            newest = max((s["id"] for s in statuses), key=_id_order, default=since)
            if newest is not None:
                new_marks[key] = newest
            if since is None:  # first poll: the newest page can be months old on a quiet hashtag
                statuses = [s for s in statuses if _created(s) >= self.clock() - self.config.initial_lookback]
            found = (status_to_post(self.source_id, s, instance, self.config.respect_noindex) for s in statuses)
            posts += [p for p in found if p is not None]
        return posts, new_marks

    async def _statuses(self, instance: MastodonInstance, path: str, params: dict[str, Any],
                        since: str | None) -> list[dict[str, Any]]:
        """Statuses newer than `since`, paging forward with min_id; without a cursor only the newest few."""
        if since is None:
            return await self._get(instance, path, {**params, "limit": self.config.first_limit})
        found: list[dict[str, Any]] = []
        cursor = since
        for _ in range(self.config.max_pages):
            batch = [s for s in await self._get(instance, path, {**params, "limit": self.config.limit,
                                                                 "min_id": cursor})
                     if _id_order(s["id"]) > _id_order(since)]
            found += batch
            if len(batch) < self.config.limit:
                break
            cursor = max((s["id"] for s in batch), key=_id_order)
        return found

    async def _get(self, instance: MastodonInstance, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        url = str(httpx.URL(f"{instance.url}{path}", params=params))
        headers = {"Authorization": f"Bearer {instance.access_token.get_secret_value()}"} \
            if instance.access_token else None
        try:
            response, body = await get_capped(self.http, url, headers=headers, max_bytes=self.config.max_bytes,
                                              timeout=self.config.timeout)
        except AuthFailedError as exc:
            status = str(exc).rsplit("HTTP ", 1)[-1]
            if instance.access_token:
                raise AuthFailedError(f"mastodon: access_token for {instance.host} rejected (HTTP {status})") from exc
            raise AuthFailedError(f"mastodon: {instance.host} requires an access_token for {path.split('?')[0]} "
                                  f"(HTTP {status})") from exc
        self._note_rate_limit(response.headers)
        data = parse_json(body, f"mastodon {instance.host}{path}")
        statuses = data.get("statuses") if isinstance(data, dict) else data
        return [s for s in statuses or [] if _valid_status(s)] if isinstance(statuses, list) else []

    def _note_rate_limit(self, headers: httpx.Headers) -> None:
        remaining, reset = headers.get("x-ratelimit-remaining", ""), from_iso(headers.get("x-ratelimit-reset"))
        if remaining.isdigit() and int(remaining) < 2 and reset is not None:
            wait = max(reset.timestamp() - self.clock(), 1.0)
            self._pause = max(self._pause or 0.0, wait)

def status_to_post(source_id: str, status: dict[str, Any], instance: MastodonInstance,
                   respect_noindex: bool = True) -> Post | None:
    """A status as a Post (None for a non-public one or an author who asked not to be indexed); a boost is its
    original. The id is the status URI, the same on every instance, so polls and streams dedup together."""
    original: dict[str, Any] = status["reblog"] if _valid_status(status.get("reblog")) else status
    account: dict[str, Any] = original["account"] if isinstance(original.get("account"), dict) else {}
    if respect_noindex and account.get("noindex"):
        return None
    if original.get("visibility") not in (None, "public", "unlisted"):
        return None
    acct = str(account.get("acct") or "")
    if acct and "@" not in acct:
        acct = f"{acct}@{instance.host}"  # local accounts come without their domain
    uri = str(original.get("uri") or original.get("url") or f"{instance.url}/statuses/{original['id']}")
    return Post(
        source_id=source_id,
        platform="mastodon",
        id=uri,
        url=str(original.get("url") or uri),
        title=str(original.get("spoiler_text") or ""),
        text=html_to_text(original.get("content")),
        author=Author(handle=acct, display_name=str(account.get("display_name") or account.get("username") or ""),
                      followers=account.get("followers_count") if isinstance(account.get("followers_count"), int)
                      else None),
        published_at=from_iso(original.get("created_at")),
        engagement=Engagement(likes=_count(original, "favourites_count"),
                              reposts=_count(original, "reblogs_count"),
                              replies=_count(original, "replies_count")),
        lang_hint=original.get("language") if isinstance(original.get("language"), str) else None,
        raw={"instance": instance.host, "status_id": str(original["id"]), "uri": uri,
             "in_reply_to_id": original.get("in_reply_to_id"), "bot": bool(account.get("bot")),
             "tags": [t.get("name") for t in original.get("tags") or [] if isinstance(t, dict)][:20]},
    )


def hashtags_for(terms: list[str]) -> list[str]:
    """'Acme Corp' -> 'acmecorp', '#Shatel' -> 'shatel': letters, digits and _ of any script are kept."""
    tags: dict[str, None] = {}
    for term in terms:
        tag = re.sub(r"\W+", "", term).lower()
        if tag:
            tags[tag] = None
    return list(tags)


def _valid_status(status: Any) -> bool:
    return isinstance(status, dict) and isinstance(status.get("id"), str) and bool(status["id"])


def _created(status: dict[str, Any]) -> float:
    created = from_iso(status.get("created_at"))
    return created.timestamp() if created else 0.0


def _id_order(status_id: str) -> tuple[int, str]:
    """Mastodon ids are numeric strings (snowflakes); compare by length first, then lexically."""
    return (len(status_id), status_id)


def _count(status: dict[str, Any], key: str) -> int:
    value = status.get(key)
    return value if isinstance(value, int) and value > 0 else 0


@registry.source("mastodon", MastodonConfig)
def make_mastodon(source_id: str, config: MastodonConfig, ctx: registry.PluginContext) -> MastodonSource:
    return MastodonSource(source_id, config, ctx)
