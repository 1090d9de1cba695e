"""GitHub issues and pull requests that mention the brand: REST `/search/issues`, one query per (kind, term).

One query per term and kind because `is:issue`/`is:pull-request` is now required and `OR` binds differently in
the legacy and the advanced search grammars. The search index lags behind creation, so each poll looks back
`index_lag` before the newest item seen and drops ids it already reported (kept in the cursor).
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
import structlog
from pydantic import Field, SecretStr, model_validator

from .. import registry
from ..errors import AuthFailedError, PermanentError, RateLimitedError
from ..http import parse_retry_after, raise_for_status, send_capped
from ..models import Author, Engagement, Post
from ..settings import Duration, SourceConfig
from .base import FetchResult, SourceState, search_terms
from .common import as_dict, json_object

log = structlog.get_logger()

MAX_TEXT = 20_000
PER_PAGE = 100
SECONDARY_LIMIT_WAIT = 60.0  # GitHub: wait at least a minute after a secondary rate limit without Retry-After
_KIND_QUALIFIER = {"issue": "is:issue", "pr": "is:pull-request", "discussion": "sort:created-desc"}
_DISCUSSION_QUERY = """
query($q: String!, $first: Int!, $after: String) {
  search(query: $q, type: DISCUSSION, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { ... on Discussion { id number title bodyText url createdAt upvoteCount
      author { login } comments { totalCount } reactions { totalCount } repository { nameWithOwner } } }
  }
}"""
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


class GitHubConfig(SourceConfig):
    type: Literal["github"]
    token: SecretStr | None = None
    api_url: str = "https://api.github.com"
    kinds: list[Literal["issue", "pr", "discussion"]] = Field(default=["issue", "pr"], min_length=1)
    qualifiers: str = ""             # extra search qualifiers, e.g. "org:acme -is:archived"
    lookback: Duration = 86400.0     # how far back the first poll looks
    index_lag: Duration = 300.0      # re-query this far behind the newest item, for late-indexed ones
    max_pages: int = Field(default=2, ge=1, le=10)

    @model_validator(mode="after")
    def _discussions_need_a_token(self) -> GitHubConfig:
        if "discussion" in self.kinds and self.token is None:
            raise ValueError("kinds: 'discussion' is searched through the GraphQL API, which needs a token")
        return self


class GitHubSource:
    def __init__(self, source_id: str, config: GitHubConfig, http: httpx.AsyncClient,
                 terms: Sequence[str], clock: Callable[[], float] = time.time):
        self.source_id, self.config, self.http, self.terms, self.clock = source_id, config, http, list(terms), clock

    async def fetch(self, state: SourceState) -> FetchResult:
        since, seen = _load_cursor(state.cursor, self.clock() - self.config.lookback)
        window_start = since - self.config.index_lag
        queries = [self._query(kind, term, window_start) for kind in self.config.kinds for term in self.terms]
        found: dict[str, Post] = {}
        wait: float | None = None
        for i, (kind, query) in enumerate(queries):
            search = self._search_discussions if kind == "discussion" else self._search
            posts, wait = await search(query, last_query=i == len(queries) - 1)
            for post in posts:
                if post.id not in seen:
                    found.setdefault(post.id, post)
        return FetchResult(posts=list(found.values()), cursor=_dump_cursor(since, seen, found, self.config.index_lag),
                           min_next_poll=wait)

    def _query(self, kind: str, term: str, start: float) -> tuple[str, str]:
        created = datetime.fromtimestamp(int(start), UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        quoted = '"' + term.replace('"', " ").strip() + '"'
        return kind, " ".join(filter(None, [quoted, "in:title,body", _KIND_QUALIFIER[kind], f"created:>={created}",
                                            self.config.qualifiers.strip()]))

    async def _search(self, query: str, last_query: bool) -> tuple[list[Post], float | None]:
        """All pages for one query; the wait until the rate-limit window resets if it is used up."""
        posts: list[Post] = []
        for page in range(1, self.config.max_pages + 1):
            params = {"q": query, "sort": "created", "order": "desc", "per_page": PER_PAGE, "page": page}
            url = str(httpx.URL(self.config.api_url.rstrip("/") + "/search/issues", params=params))
            response, data = await self._call("GET", url)
            items = data.get("items")
            if not isinstance(items, list):
                raise PermanentError(f"{url}: response has no 'items' list")
            posts += [_to_post(self.source_id, item) for item in items if isinstance(item, dict)]
            if self._page_ends(response, url, len(items) >= PER_PAGE, page, last_query):
                break
        return posts, self._exhausted_for(response)

    async def _search_discussions(self, query: str, last_query: bool) -> tuple[list[Post], float | None]:
        """Discussions through GraphQL `search(type: DISCUSSION)`, newest first."""
        posts: list[Post] = []
        url, after = self.config.api_url.rstrip("/") + "/graphql", None
        for page in range(1, self.config.max_pages + 1):
            payload = {"query": _DISCUSSION_QUERY, "variables": {"q": query, "first": 50, "after": after}}
            response, data = await self._call("POST", url, payload)
            search = _graphql_search(data, url, self._until_reset(response))
            posts += [_discussion_to_post(self.source_id, node) for node in search["nodes"] if node]
            info = as_dict(search.get("pageInfo"))
            after = info.get("endCursor")
            if self._page_ends(response, url, bool(info.get("hasNextPage")), page, last_query):
                break
        return posts, self._exhausted_for(response)

    def _page_ends(self, response: httpx.Response, url: str, has_next: bool, page: int, last_query: bool) -> bool:
        """Whether to stop paging. A used-up rate limit with requests still to make fails the poll, so that the
        cursor stays put; on the poll's very last request it only delays the next poll."""
        more = has_next and page < self.config.max_pages
        wait = self._exhausted_for(response)
        if wait is not None and (more or not last_query):
            raise RateLimitedError(f"{url}: rate limit used up", wait)
        if has_next and not more:
            log.warning("source_results_truncated", source_id=self.source_id, pages=self.config.max_pages)
        return not more

    def _exhausted_for(self, response: httpx.Response) -> float | None:
        if response.headers.get("X-RateLimit-Remaining") != "0":
            return None
        return self._until_reset(response)

    def _until_reset(self, response: httpx.Response) -> float | None:
        reset = response.headers.get("X-RateLimit-Reset", "")
        return max(float(reset) - self.clock(), 1.0) if reset.isdigit() else None

    async def _call(self, method: str, url: str, payload: dict[str, Any] | None = None,
                    ) -> tuple[httpx.Response, dict[str, Any]]:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        if self.config.token is not None:
            headers["Authorization"] = f"Bearer {self.config.token.get_secret_value()}"
        response, body = await send_capped(self.http, method, url, headers=headers, json=payload,
                                           max_bytes=self.config.max_bytes, timeout=self.config.timeout)
        data = json_object(body)
        if response.status_code >= 400:
            self._raise_for_error(response, data or {}, url)
        if data is None:
            raise PermanentError(f"{url}: response is not a JSON object")
        return response, data

    def _raise_for_error(self, response: httpx.Response, data: dict[str, Any], url: str) -> None:
        status, message = response.status_code, str(data.get("message", ""))[:200]
        what = f"{url}: HTTP {status} {message}".rstrip()
        if status in (403, 429):
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is not None:
                raise RateLimitedError(what, retry_after)
            if response.headers.get("X-RateLimit-Remaining") == "0":
                raise RateLimitedError(what, self._until_reset(response))
            if "rate limit" in message.lower() or status == 429:
                raise RateLimitedError(what, SECONDARY_LIMIT_WAIT)
        if status in (401, 403):
            raise AuthFailedError(f"{what} (check the github 'token')")
        if status == 422:
            raise PermanentError(f"{what} (check 'qualifiers' and the brand keywords)")
        raise_for_status(response, what)


def _to_post(source_id: str, item: dict[str, Any]) -> Post:
    try:
        created = datetime.fromisoformat(str(item["created_at"])).astimezone(UTC)
        issue_id, url = str(int(item["id"])), str(item["html_url"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentError(f"github: malformed search item ({type(exc).__name__})") from None
    user = as_dict(item.get("user"))
    reactions = as_dict(item.get("reactions"))
    repo = str(item.get("repository_url", "")).rsplit("/repos/", 1)[-1]
    body = _HTML_COMMENT.sub("", str(item.get("body") or "")).strip()
    return Post(
        source_id=source_id, platform="github", id=issue_id, url=url,
        title=str(item.get("title", "")), text=body[:MAX_TEXT],
        author=Author(handle=str(user.get("login", "")), display_name=str(user.get("login", ""))),
        published_at=created,
        engagement=Engagement(likes=_int(reactions.get("total_count")), replies=_int(item.get("comments"))),
        raw={"repository": repo, "number": item.get("number"), "state": item.get("state"),
             "is_pull_request": "pull_request" in item, "author_association": item.get("author_association"),
             "created_at": created.timestamp()},
    )


def _graphql_search(data: dict[str, Any], url: str, reset_wait: float | None) -> dict[str, Any]:
    """The `search` object of a GraphQL answer; GraphQL reports rate limits and bad queries with HTTP 200."""
    errors = data.get("errors") if isinstance(data.get("errors"), list) else []
    if errors:
        first = errors[0] if isinstance(errors[0], dict) else {}
        message = f"{url}: GraphQL {first.get('type', 'error')}: {str(first.get('message', ''))[:200]}"
        if first.get("type") == "RATE_LIMITED":
            raise RateLimitedError(message, reset_wait)
        raise PermanentError(f"{message} (check 'qualifiers' and the brand keywords)")
    search = (data.get("data") or {}).get("search") if isinstance(data.get("data"), dict) else None
    if not isinstance(search, dict) or not isinstance(search.get("nodes"), list):
        raise PermanentError(f"{url}: GraphQL answer has no search.nodes")
    return search


def _discussion_to_post(source_id: str, node: dict[str, Any]) -> Post:
    try:
        created = datetime.fromisoformat(str(node["createdAt"])).astimezone(UTC)
        node_id, url = str(node["id"]), str(node["url"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentError(f"github: malformed discussion ({type(exc).__name__})") from None
    login = str(_dig(node, "author", "login") or "")
    likes = _int(_dig(node, "reactions", "totalCount")) + _int(node.get("upvoteCount"))
    return Post(
        source_id=source_id, platform="github", id=node_id, url=url, title=str(node.get("title", "")),
        text=str(node.get("bodyText") or "")[:MAX_TEXT], author=Author(handle=login, display_name=login),
        published_at=created, engagement=Engagement(likes=likes, replies=_int(_dig(node, "comments", "totalCount"))),
        raw={"repository": str(_dig(node, "repository", "nameWithOwner") or ""), "number": node.get("number"),
             "is_discussion": True, "created_at": created.timestamp()},
    )


def _dig(node: Any, *keys: str) -> Any:
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node



def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _load_cursor(cursor: str | None, default_since: float) -> tuple[float, dict[str, float]]:
    try:
        data = json.loads(cursor) if cursor else {}
        return float(data.get("since", default_since)), {str(k): float(v) for k, v in data.get("seen", {}).items()}
    except (ValueError, TypeError, AttributeError):
        return default_since, {}  # an unreadable cursor restarts from the lookback window instead of failing for ever


def _dump_cursor(since: float, seen: dict[str, float], found: dict[str, Post], lag: float) -> str:
    """The newest creation time, and every id reported inside the look-back window behind it."""
    seen = {**seen, **{post.id: post.raw["created_at"] for post in found.values()}}
    newest = max([since, *seen.values()])
    keep = {k: v for k, v in seen.items() if v >= newest - lag}
    return json.dumps({"since": newest, "seen": dict(sorted(keep.items(), key=lambda kv: kv[1])[-1000:])})


@registry.source("github", GitHubConfig)
def make_github(source_id: str, config: GitHubConfig, ctx: registry.PluginContext) -> GitHubSource:
    return GitHubSource(source_id, config, ctx.http, search_terms(ctx.brands, config.brands))
