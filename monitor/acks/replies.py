"""The first response is often a public reply from the brand's own account rather than a click in chat.

For every account listed in a brand's `accounts:` the listener reads the account's newest posts through the
platform's public API (no credentials; X: the bearer token in `public_replies`) and acknowledges the open alerts
about the posts it answered, by `reply:<platform>:<handle>`. Mastodon names the parent by its id on the brand's
instance, so each new reply costs one lookup of the parent's URI (the id our sources store); Bluesky names it by
its at:// URI directly, X by the tweet id. X charges for every tweet read: only tweets newer than the last one
seen (`since_id`) are asked for, and a used-up rate-limit window is waited out.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Any
from urllib.parse import quote

import httpx

from ..errors import PermanentError, TransientError
from ..http import raise_for_status, send_capped
from ..settings import OwnAccount, PublicRepliesConfig
from ..sources.common import as_dict
from ..sources.x import get_json
from ..store import Store
from .common import MAX_BODY, label

PAGE = 40                 # newest posts read per poll: a team answering more than this per minute is rare
MAX_PARENT_LOOKUPS = 20   # Mastodon parent lookups per poll; the rest wait for the next poll
TIMEOUT = 10.0


class PublicReplyListener:
    kind = "public_reply"

    def __init__(self, account: OwnAccount, config: PublicRepliesConfig, http: httpx.AsyncClient, store: Store):
        self.account, self._config, self._http, self._store = account, config, http, store
        self.id = f"{account.platform}:{account.handle}"
        self._what = f"public replies of {self.id}"
        self._next_at = 0.0
        self._mastodon_id: str | None = None
        self._seen: set[str] = set()  # replies whose parent was looked up already (Mastodon)
        self._x_id: str | None = None
        self._x_since: str | None = None  # the newest tweet whose replies were acknowledged

    async def poll_once(self, now: float) -> int:
        """Acknowledge alerts answered since the last poll; runs at most once per `public_replies.every`."""
        if now < self._next_at:
            return 0
        self._next_at = now + self._config.every
        if self.account.platform == "x":
            parents, newest = await self._x_parents(now)
            acked = await self._acknowledge(parents, now)
            self._x_since = newest or self._x_since
            return acked
        return await self._acknowledge(await (self._mastodon_parents() if self.account.platform == "mastodon"
                                              else self._bluesky_parents()), now)

    async def _acknowledge(self, parents: list[str], now: float) -> int:
        if not parents:
            return 0
        try:
            return await self._store.run(self._ack, parents, now)
        except sqlite3.Error as exc:
            raise TransientError(f"{self._what}: store error {type(exc).__name__}") from None

    def _ack(self, parents: list[str], now: float) -> int:
        by = label("reply", self.id)
        alert_ids = self._store.open_alerts_for_posts(self.account.platform, parents)
        return sum(self._store.ack(alert_id, now, by) for alert_id in alert_ids)

    async def _bluesky_parents(self) -> list[str]:
        url = (f"{self._config.bluesky_api.rstrip('/')}/xrpc/app.bsky.feed.getAuthorFeed"
               f"?actor={quote(self.account.handle)}&filter=posts_with_replies&limit={PAGE}")
        body = await self._get(url)
        parents = []
        for item in body.get("feed", []) if isinstance(body, dict) else []:
            post = item.get("post") if isinstance(item, dict) else None
            if not isinstance(post, dict) or item.get("reason"):  # a repost is not an answer
                continue
            author = post.get("author") if isinstance(post.get("author"), dict) else {}
            reply = (post.get("record") or {}).get("reply") if isinstance(post.get("record"), dict) else None
            if str(author.get("handle", "")).lower() == self.account.handle and isinstance(reply, dict):
                parent = reply.get("parent") if isinstance(reply.get("parent"), dict) else {}
                if isinstance(parent.get("uri"), str):
                    parents.append(parent["uri"])
        return parents

    async def _mastodon_parents(self) -> list[str]:
        home = self.account.home
        if self._mastodon_id is None:
            name = quote(self.account.handle.split("@")[0])
            account = await self._get(f"{home}/api/v1/accounts/lookup?acct={name}", missing_ok=True)
            if not isinstance(account, dict) or not account.get("id"):
                raise PermanentError(f"{self._what}: the account was not found on {home}")
            self._mastodon_id = str(account["id"])
        statuses = await self._get(f"{home}/api/v1/accounts/{self._mastodon_id}/statuses"
                                   f"?exclude_reblogs=true&limit={PAGE}")
        statuses = [s for s in statuses if isinstance(s, dict)] if isinstance(statuses, list) else []
        self._seen &= {str(s.get("id")) for s in statuses}  # remember only what the page still shows
        fresh = [s for s in statuses if s.get("in_reply_to_id") and str(s.get("id")) not in self._seen]
        parents = []
        for status in fresh[:MAX_PARENT_LOOKUPS]:
            parent = await self._get(f"{home}/api/v1/statuses/{quote(str(status['in_reply_to_id']))}", missing_ok=True)
            self._seen.add(str(status["id"]))
            if isinstance(parent, dict) and isinstance(parent.get("uri"), str):
                parents.append(parent["uri"])
        return parents

    async def _x_parents(self, now: float) -> tuple[list[str], str | None]:
        """Ids of the tweets answered by the account's tweets since the last poll, and the newest tweet's id."""
        if self._x_id is None:
            user = as_dict((await self._x_get(f"/users/by/username/{quote(self.account.handle)}", {}, now)).get("data"))
            if not isinstance(user.get("id"), str):  # X answers 200 with an `errors` list for an unknown name
                raise PermanentError(f"{self._what}: the account was not found on X")
            self._x_id = user["id"]
        params = {"max_results": PAGE, "exclude": "retweets",
                  "tweet.fields": "referenced_tweets,in_reply_to_user_id,conversation_id"}
        if self._x_since:
            params["since_id"] = self._x_since
        body = await self._x_get(f"/users/{self._x_id}/tweets", params, now)
        tweets = body.get("data") if isinstance(body.get("data"), list) else []
        refs = [r for t in tweets if isinstance(t, dict) and isinstance(t.get("referenced_tweets"), list)
                for r in t["referenced_tweets"] if isinstance(r, dict)]
        parents = [r["id"] for r in refs if r.get("type") == "replied_to" and isinstance(r.get("id"), str)]
        newest = as_dict(body.get("meta")).get("newest_id")
        return parents, newest if isinstance(newest, str) else None

    async def _x_get(self, path: str, params: dict[str, Any], now: float) -> dict[str, Any]:
        """An X API call; when it used up its rate-limit window, the next poll waits for the reset."""
        token = self._config.x_bearer_token
        if token is None:  # `check` refuses such a config; a listener built without it says so
            raise PermanentError(f"{self._what}: public_replies.x_bearer_token is not set")
        url = str(httpx.URL(f"{self._config.x_api.rstrip('/')}{path}", params=params))
        body, wait = await get_json(self._http, url, token, self._what, now, max_bytes=MAX_BODY, timeout=TIMEOUT)
        if wait is not None:
            self._next_at = max(self._next_at, now + wait)
        return body

    async def _get(self, url: str, *, missing_ok: bool = False) -> Any:
        """JSON from a public endpoint; a deleted or private parent (404) is None when `missing_ok`."""
        try:
            response, raw = await send_capped(self._http, "GET", url, max_bytes=MAX_BODY, timeout=TIMEOUT,
                                              headers={"Accept": "application/json"})
        except PermanentError as exc:  # too big, an encoding refused, a private address refused: the reason is in it
            raise PermanentError(f"{self._what}: {exc}") from None
        except TransientError:
            raise TransientError(f"{self._what}: network error or timeout after {TIMEOUT:g}s") from None
        if missing_ok and response.status_code in (404, 410):
            return None
        raise_for_status(response, self._what)
        try:
            return json.loads(raw)
        except ValueError:
            raise TransientError(f"{self._what}: HTTP {response.status_code} with a body that is not JSON") from None
