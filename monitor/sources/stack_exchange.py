"""Stack Exchange questions that mention the brand: `/2.3/search/advanced` per (site, term), newest first.

One cursor per (site, term) pair — `[newest creation_date, ids seen at that second, last polled]` — because a
`backoff` or an exhausted quota can stop a poll half-way: the pairs not reached keep their place and go first
next time.
"""
from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
import structlog
from pydantic import Field, SecretStr

from .. import registry
from ..errors import AuthFailedError, PermanentError, RateLimitedError, TransientError
from ..http import raise_for_status, redact, send_capped
from ..models import Author, Engagement, Post
from ..settings import Duration, SourceConfig
from .base import FetchResult, SourceState, search_terms
from .common import as_dict, html_to_text, json_object

log = structlog.get_logger()

MAX_TEXT = 20_000
_AUTH_ERROR_IDS = {401, 402, 403, 405, 406}
_WAIT_IN_MESSAGE = re.compile(r"available in (\d+) seconds")


class StackExchangeConfig(SourceConfig):
    type: Literal["stack_exchange"]
    sites: list[str] = Field(default=["stackoverflow"], min_length=1)
    key: SecretStr | None = None
    api_url: str = "https://api.stackexchange.com"
    lookback: Duration = 86400.0      # how far back the first poll looks
    max_pages: int = Field(default=2, ge=1, le=25)
    every: Duration = 900.0           # 300 requests/day without a key: poll gently by default


@dataclass(frozen=True)
class _Mark:
    """Where one (site, term) pair stands: `fromdate` is inclusive, so the ids already seen in that second."""
    since: int
    seen: list[str]
    polled_at: float


@dataclass(frozen=True)
class _Stop:
    """The API asked us to make no more calls for `seconds` (backoff, or quota used up until the next UTC day)."""
    seconds: float
    quota_exhausted: bool


class StackExchangeSource:
    def __init__(self, source_id: str, config: StackExchangeConfig, http: httpx.AsyncClient,
                 terms: Sequence[str], clock: Callable[[], float] = time.time):
        self.source_id, self.config, self.http, self.terms, self.clock = source_id, config, http, list(terms), clock

    async def fetch(self, state: SourceState) -> FetchResult:
        cursors = _load_cursor(state.cursor)
        pairs = [f"{site}:{term}" for site in self.config.sites for term in self.terms]
        pairs.sort(key=lambda pair: cursors[pair].polled_at if pair in cursors else 0.0)  # least recently polled first
        posts: dict[str, Post] = {}
        stop: _Stop | None = None
        new_cursors = {pair: cursors[pair] for pair in pairs if pair in cursors}
        for pair in pairs:
            site, term = pair.split(":", 1)
            mark = cursors.get(pair) or _Mark(int(self.clock() - self.config.lookback), [], 0.0)
            found, stop = await self._poll_pair(site, term, mark.since, set(mark.seen))
            for post in found:
                posts.setdefault(post.id, post)
            new_cursors[pair] = _advance(mark, found, self.clock())
            if stop is not None:
                break
        if stop is not None and stop.quota_exhausted and not posts:
            raise RateLimitedError("stack_exchange: daily request quota used up", stop.seconds)
        cursor = json.dumps({k: [m.since, m.seen, m.polled_at] for k, m in new_cursors.items()}, sort_keys=True)
        return FetchResult(posts=list(posts.values()), cursor=cursor,
                           min_next_poll=stop.seconds if stop else None)

    async def _poll_pair(self, site: str, term: str, since: int, seen: set[str]) -> tuple[list[Post], _Stop | None]:
        """Posts newer than the cursor for one pair, and the seconds to wait if the API asked us to stop."""
        found: list[Post] = []
        for page in range(1, self.config.max_pages + 1):
            data = await self._get(site, term, since, page)
            found += [p for p in (_to_post(self.source_id, site, item) for item in _items(data))
                      if p.raw["question_id"] not in seen]
            stop = self._stop_for(data)
            if stop is not None:
                return found, stop
            if not data.get("has_more"):
                break
        else:
            log.warning("source_results_truncated", source_id=self.source_id, site=site, pages=self.config.max_pages)
        return found, None

    def _stop_for(self, data: dict[str, Any]) -> _Stop | None:
        """`backoff` must be obeyed before calling the method again; quota 0 means wait for the next UTC day."""
        backoff = data.get("backoff")
        backoff = float(backoff) if isinstance(backoff, (int, float)) and backoff > 0 else 0.0
        if backoff:
            log.info("source_backoff_requested", source_id=self.source_id, seconds=backoff)
        if data.get("quota_remaining") == 0:
            log.warning("source_quota_exhausted", source_id=self.source_id, quota_max=data.get("quota_max"))
            return _Stop(max(backoff, _seconds_to_next_utc_day(self.clock())), quota_exhausted=True)
        return _Stop(backoff, quota_exhausted=False) if backoff else None

    async def _get(self, site: str, term: str, since: int, page: int) -> dict[str, Any]:
        params: dict[str, Any] = {"q": term, "site": site, "sort": "creation", "order": "desc",
                                  "fromdate": since, "pagesize": 100, "page": page, "filter": "withbody"}
        if self.config.key is not None:
            params["key"] = self.config.key.get_secret_value()
        url = str(httpx.URL(self.config.api_url.rstrip("/") + "/2.3/search/advanced", params=params))
        response, body = await send_capped(self.http, "GET", url, max_bytes=self.config.max_bytes,
                                           timeout=self.config.timeout)
        data = json_object(body)
        if response.status_code >= 400 or (data is not None and "error_id" in data):
            _raise_api_error(response, data or {}, redact(url))
        if data is None:
            raise PermanentError(f"{redact(url)}: response is not a JSON object")
        if not isinstance(data.get("items"), list):
            raise PermanentError(f"{redact(url)}: response has no 'items' list")
        return data


def _raise_api_error(response: httpx.Response, data: dict[str, Any], what: str) -> None:
    """Map the API's JSON error (`error_id`, `error_name`, `error_message`), or else the HTTP status."""
    error_id = data.get("error_id")
    detail = f"{data.get('error_name', 'error')} {error_id}: {str(data.get('error_message', ''))[:200]}"
    message = f"{what}: HTTP {response.status_code} {detail if error_id is not None else ''}".rstrip()
    if error_id == 502:  # throttle_violation: "... more requests available in N seconds"
        wait = _WAIT_IN_MESSAGE.search(str(data.get("error_message", "")))
        raise RateLimitedError(message, float(wait.group(1)) if wait else None)
    if error_id in _AUTH_ERROR_IDS or (error_id is None and response.status_code in (401, 403)):
        raise AuthFailedError(f"{message} (check the stack_exchange 'key')")
    if error_id in (500, 503):
        raise TransientError(message)
    if error_id is None:
        raise_for_status(response, what)
    raise PermanentError(message)


def _items(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in data["items"] if isinstance(item, dict) and "question_id" in item]


def _to_post(source_id: str, site: str, item: dict[str, Any]) -> Post:
    try:
        created = datetime.fromtimestamp(int(item["creation_date"]), UTC)
        qid, link = str(int(item["question_id"])), str(item["link"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentError(f"stack_exchange: malformed item ({type(exc).__name__})") from None
    owner = as_dict(item.get("owner"))
    name = html.unescape(str(owner.get("display_name", "")))
    score, answers = _int(item.get("score")), _int(item.get("answer_count"))
    return Post(
        source_id=source_id, platform="stack_exchange", id=f"{site}:{qid}",
        url=link,
        title=html.unescape(str(item.get("title", ""))),
        text=html_to_text(str(item.get("body", ""))),
        author=Author(handle=str(owner.get("user_id", name)), display_name=name),
        published_at=created,
        engagement=Engagement(likes=max(score, 0), replies=answers),
        raw={"question_id": qid, "site": site, "score": score, "answer_count": answers,
             "view_count": _int(item.get("view_count")), "tags": list(item.get("tags") or [])[:20],
             "reputation": _int(owner.get("reputation")), "creation_date": int(created.timestamp())},
    )



def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _advance(mark: _Mark, found: list[Post], now: float) -> _Mark:
    newest = max([mark.since, *(p.raw["creation_date"] for p in found)])
    ids = [p.raw["question_id"] for p in found if p.raw["creation_date"] == newest]
    if newest == mark.since:
        ids = list(dict.fromkeys([*mark.seen, *ids]))
    return _Mark(newest, ids[-200:], now)


def _load_cursor(cursor: str | None) -> dict[str, _Mark]:
    try:
        data = json.loads(cursor) if cursor else {}
        return {k: _Mark(int(v[0]), [str(i) for i in v[1]], float(v[2]) if len(v) > 2 else 0.0)
                for k, v in data.items()}
    except (ValueError, TypeError, AttributeError, IndexError, KeyError):
        return {}  # an unreadable cursor restarts from the lookback window instead of failing for ever


def _seconds_to_next_utc_day(now: float) -> float:
    today = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (today + timedelta(days=1)).timestamp() - now


@registry.source("stack_exchange", StackExchangeConfig)
def make_stack_exchange(source_id: str, config: StackExchangeConfig,
                        ctx: registry.PluginContext) -> StackExchangeSource:
    return StackExchangeSource(source_id, config, ctx.http, search_terms(ctx.brands, config.brands))
