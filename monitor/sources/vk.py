"""VK: `newsfeed.search` for the brands' keywords, and comments on the brand's own community wall.

Both need a service token (an app's service key). VK answers errors with HTTP 200 and an `error` object; its
codes are mapped to the runner's error kinds. Search results come newest first and are paged with `next_from`:
one sweep pages back to `start_time`; a sweep longer than `max_pages` is continued on the next poll from the
`next_from` kept in the cursor, so no item is skipped, and the next sweep starts at the newest second seen.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator

from .. import registry
from ..errors import AuthFailedError, PermanentError, RateLimitedError, TransientError
from ..http import raise_for_status, send_capped
from ..models import Author, Engagement, Post
from ..settings import Duration, SourceConfig
from .base import FetchResult, SourceState, search_terms
from .common import MAX_TEXT, Watermark, as_dict, dump_cursor, from_epoch, load_cursor, parse_json

API_VERSION = "5.199"
DAILY_LIMIT_WAIT = 3600.0  # error 29: a method's daily quota is used up; VK does not say when it resets
_RATE_LIMITED = {6, 29}
_AUTH_FAILED = {5}
_NO_ACCESS = {15, 18, 30}


class VkConfig(SourceConfig):
    type: Literal["vk"]
    every: Duration = 300.0
    access_token: SecretStr
    api_url: str = "https://api.vk.com/method"
    search: bool = True
    owner_id: int | None = None       # the brand's community wall, e.g. -22822305 (communities are negative)
    wall_posts: int = Field(default=10, ge=1, le=100)  # how many of the wall's newest posts have their comments read
    count: int = Field(default=100, ge=1, le=200)
    max_pages: int = Field(default=3, ge=1, le=20)
    lookback: Duration = 3600.0       # how far back the first poll looks

    @model_validator(mode="after")
    def _something_to_read(self) -> VkConfig:
        if not self.search and self.owner_id is None:
            raise ValueError("search is off and no owner_id is given: there is nothing to read")
        return self


class VkSource:
    platform = "vk"

    def __init__(self, source_id: str, config: VkConfig, ctx: registry.PluginContext,
                 clock: Callable[[], float] = time.time):
        self.source_id, self.config, self.http, self.clock = source_id, config, ctx.http, clock
        self.terms = search_terms(ctx.brands, config.brands) if config.search else []

    async def fetch(self, state: SourceState) -> FetchResult:
        """Any error fails the whole poll: the cursor stays where it was, so nothing is lost or repeated."""
        cursor = load_cursor(state.cursor)
        searches = cursor.get("search") if isinstance(cursor.get("search"), dict) else {}
        posts: dict[str, Post] = {}
        new_cursor: dict[str, Any] = {"search": {}}
        for term in self.terms:
            found, new_cursor["search"][term] = await self._search(term, as_dict(searches.get(term)))
            posts.update((p.id, p) for p in found)
        if self.config.owner_id is not None:
            found, new_cursor["wall"] = await self._wall_comments(as_dict(cursor.get("wall")))
            posts.update((p.id, p) for p in found)
        return FetchResult(posts=list(posts.values()), cursor=dump_cursor(new_cursor))

    async def _search(self, term: str, value: dict[str, Any]) -> tuple[list[Post], dict[str, Any]]:
        """One term's new posts and its next mark: a Watermark at the newest second reported and, while a sweep
        runs past max_pages, `next_from` (where it goes on) and `sweep` (the mark it will end with)."""
        value = _upgraded(value)
        mark = Watermark.load(value) or Watermark(int(self.clock() - self.config.lookback))
        next_from = value.get("next_from") or None
        sweep = (Watermark.load(value.get("sweep")) if next_from else None) or mark
        posts: list[Post] = []
        for _ in range(self.config.max_pages):
            params = {"q": term, "extended": 1, "count": self.config.count, "start_time": int(mark.t)}
            data = await self._call("newsfeed.search", {**params, **({"start_from": next_from} if next_from else {})})
            people = _people(data)
            items = [(f"{i['owner_id']}_{i['id']}", int(i.get("date") or 0), i)
                     for i in _items(data) if isinstance(i.get("owner_id"), int)]
            fresh = [(key, date, item) for key, date, item in items if mark.is_new(key, date)]
            sweep = sweep.advanced((key, date) for key, date, _ in fresh)
            posts += [self._wall_post(item, people) for _, _, item in fresh]
            next_from = data.get("next_from") or None
            if not next_from:
                return posts, sweep.dump()
        return posts, {**mark.dump(), "sweep": sweep.dump(), "next_from": next_from}

    async def _wall_comments(self, marks: dict[str, Any]) -> tuple[list[Post], dict[str, int]]:
        """New comments under the wall's newest posts; the mark per post is the newest comment id reported
        (0: none yet). The community's own replies are left out."""
        owner = self.config.owner_id
        wall = await self._call("wall.get", {"owner_id": owner, "count": self.config.wall_posts, "extended": 1})
        posts: list[Post] = []
        new_marks: dict[str, int] = {}
        for wall_post in _items(wall):
            post_id, last = wall_post["id"], marks.get(str(wall_post["id"]))
            comments: list[tuple[dict[str, Any], dict[int, Author]]] = []
            if _count(wall_post, "comments"):
                comments = await (self._new_post_comments(post_id) if not isinstance(last, int)
                                  else self._comments_after(post_id, last))
            new_marks[str(post_id)] = max([c["id"] for c, _ in comments], default=last or 0)
            posts += [self._comment(c, post_id, people) for c, people in comments if c.get("from_id") != owner]
        return posts, new_marks

    async def _new_post_comments(self, post_id: int) -> list[tuple[dict[str, Any], dict[int, Author]]]:
        """A post seen for the first time: its newest comments of the last `lookback` seconds."""
        data = await self._call("wall.getComments", {**self._comment_params(post_id), "sort": "desc"})
        since, people = self.clock() - self.config.lookback, _people(data)
        return [(c, people) for c in _items(data) if int(c.get("date") or 0) >= since]

    async def _comments_after(self, post_id: int, last: int) -> list[tuple[dict[str, Any], dict[int, Author]]]:
        """Comments newer than comment `last`, oldest first, paging on from the newest one of each full page."""
        found: list[tuple[dict[str, Any], dict[int, Author]]] = []
        for _ in range(self.config.max_pages):
            start = {"start_comment_id": last} if last else {}
            data = await self._call("wall.getComments", {**self._comment_params(post_id), "sort": "asc", **start})
            people, items = _people(data), _items(data)
            found += [(c, people) for c in items if c["id"] > last]
            if len(items) < 100:
                break
            last = max(c["id"] for c in items)
        return found

    def _comment_params(self, post_id: int) -> dict[str, Any]:
        return {"owner_id": self.config.owner_id, "post_id": post_id, "count": 100, "need_likes": 1, "extended": 1}

    async def _call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """POST a method (the token goes in the body, never in a URL) and return its `response` object."""
        url = f"{self.config.api_url.rstrip('/')}/{method}"
        form = {**params, "access_token": self.config.access_token.get_secret_value(), "v": API_VERSION}
        response, body = await send_capped(self.http, "POST", url, data=form, max_bytes=self.config.max_bytes,
                                           timeout=self.config.timeout)
        raise_for_status(response, what=f"vk {method}")
        data = parse_json(body, f"vk {method}")
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            raise _api_error(method, data["error"])
        if not isinstance(data, dict) or not isinstance(data.get("response"), dict):
            raise PermanentError(f"vk {method}: response has no 'response' object")
        return data["response"]

    def _wall_post(self, item: dict[str, Any], people: dict[int, Author]) -> Post:
        owner, post_id = item["owner_id"], item["id"]
        return self._post(item, people, key=f"{owner}_{post_id}", url=f"https://vk.com/wall{owner}_{post_id}",
                          replies=_count(item, "comments"))

    def _comment(self, item: dict[str, Any], post_id: int, people: dict[int, Author]) -> Post:
        owner, comment_id = self.config.owner_id, item["id"]
        return self._post(item, people, key=f"{owner}_{post_id}_{comment_id}",
                          url=f"https://vk.com/wall{owner}_{post_id}?reply={comment_id}",
                          replies=_count(item, "thread"))

    def _post(self, item: dict[str, Any], people: dict[int, Author], key: str, url: str, replies: int) -> Post:
        author_id = item.get("from_id") or item.get("owner_id")
        return Post(
            source_id=self.source_id,
            platform=self.platform,
            id=key,
            url=url,
            text=str(item.get("text") or "")[:MAX_TEXT],
            author=people.get(author_id) or Author(handle=_handle(author_id, None)),
            published_at=from_epoch(item.get("date")),
            engagement=Engagement(likes=_count(item, "likes"), reposts=_count(item, "reposts"), replies=replies),
            raw={"owner_id": item.get("owner_id"), "from_id": author_id},
        )


def _api_error(method: str, error: dict[str, Any]) -> Exception:
    code, message = error.get("error_code"), str(error.get("error_msg") or "no message")
    text = f"vk {method}: error {code}: {message}"
    if code in _RATE_LIMITED:
        return RateLimitedError(text, DAILY_LIMIT_WAIT if code == 29 else None)
    if code in _AUTH_FAILED:
        return AuthFailedError(f"{text} (check access_token: a service key of a VK app)")
    if code in _NO_ACCESS:
        return PermanentError(text)
    return TransientError(text)


def _upgraded(mark: dict[str, Any]) -> dict[str, Any]:
    """A search mark as written before the shared Watermark ({start_time, skip[, newest, newest_ids, next_from]})
    in today's form; a damaged one counts as none."""
    if "start_time" not in mark:
        return mark
    try:
        upgraded = Watermark.at(int(mark["start_time"]), mark.get("skip") or []).dump()
        if mark.get("next_from"):
            sweep = Watermark.at(int(mark["newest"]), mark["newest_ids"]).dump()
            upgraded |= {"sweep": sweep, "next_from": mark["next_from"]}
        return upgraded
    except (KeyError, TypeError, ValueError):
        return {}


def _items(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The well-formed items (each with integer ids) of a response."""
    items = data.get("items")
    return [i for i in items if isinstance(i, dict) and isinstance(i.get("id"), int)] \
        if isinstance(items, list) else []


def _people(data: dict[str, Any]) -> dict[int, Author]:
    """Authors by VK id from an extended response: users positive, communities negative."""
    people: dict[int, Author] = {}
    for user in data.get("profiles") or []:
        if isinstance(user, dict) and isinstance(user.get("id"), int):
            name = f"{user.get('first_name') or ''} {user.get('last_name') or ''}".strip()
            people[user["id"]] = Author(handle=_handle(user["id"], user.get("screen_name")), display_name=name)
    for group in data.get("groups") or []:
        if isinstance(group, dict) and isinstance(group.get("id"), int):
            people[-group["id"]] = Author(handle=_handle(-group["id"], group.get("screen_name")),
                                          display_name=str(group.get("name") or ""))
    return people


def _handle(vk_id: Any, screen_name: Any) -> str:
    if isinstance(screen_name, str) and screen_name:
        return screen_name
    if not isinstance(vk_id, int):
        return ""
    return f"id{vk_id}" if vk_id > 0 else f"club{-vk_id}"


def _count(item: dict[str, Any], key: str) -> int:
    """VK counters are objects: {"likes": {"count": 5, ...}}."""
    value = item.get(key)
    count = value.get("count") if isinstance(value, dict) else None
    return count if isinstance(count, int) and count > 0 else 0



@registry.source("vk", VkConfig)
def make_vk(source_id: str, config: VkConfig, ctx: registry.PluginContext) -> VkSource:
    return VkSource(source_id, config, ctx)
