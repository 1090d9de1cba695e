"""Bluesky in real time: a Jetstream WebSocket (`/subscribe?wantedCollections=app.bsky.feed.post`), every new
post of the network, kept only where the brands' matcher finds a brand (the pipeline's matcher still decides).

The cursor is the `time_us` of the last event handled; a reconnect asks for events from `rewind` before it
(Jetstream replays from a cursor) and the store's dedup drops the repeats: no gap, no repeated alert. Posts get
the same id and URL as the polling `bluesky` source, so the two dedup together and public replies acknowledge
their alerts; the author's handle and follower count come from the public AppView, cached.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, ClassVar, Literal
from urllib.parse import urlencode

import httpx
import structlog

from .. import registry
from ..errors import ExternalError
from ..http import get_capped
from ..matching import Matcher
from ..models import Author, Post
from ..settings import Duration, StreamConfig
from .base import SourceState, StreamSink
from .common import MAX_TEXT, as_dict, from_iso, parse_json

POST = "app.bsky.feed.post"
HEARTBEAT = 30.0
PROFILE_TTL = 21600.0
PROFILE_CACHE_MAX = 5000
log = structlog.get_logger()


class JetstreamConfig(StreamConfig):
    type: Literal["bluesky_jetstream"]
    fallback_kind: ClassVar[str] = "bluesky"
    url: str = "wss://jetstream2.us-east.bsky.network/subscribe"
    rewind: Duration = 5.0
    profiles_url: str = "https://public.api.bsky.app"  # "" = no lookups: authors are shown by their DID


class JetstreamSource:
    platform = "bluesky"

    def __init__(self, source_id: str, config: JetstreamConfig, ctx: registry.PluginContext,
                 clock: Callable[[], float] = time.time):
        self.source_id, self.config, self.http, self.clock = source_id, config, ctx.http, clock
        self.matcher = Matcher([b for b in ctx.brands if not config.brands or b.name in config.brands])
        self._profiles: dict[str, tuple[str, str, int | None, float]] = {}
        self._profile_failing = False
        self._resume = True  # False after an oversized message: resuming would meet it again

    async def stream(self, state: SourceState, sink: StreamSink) -> None:
        from .. import stream_http  # noqa: PLC0415 - aiohttp is loaded only when a stream connects

        url = self._subscribe_url(state.cursor if self._resume else None)
        networks = self.http.networks_for(httpx.URL(url))
        async with stream_http.session(networks, self.config.timeout, HEARTBEAT * 3) as client, \
                stream_http.websocket(client, url, self.config.max_bytes, HEARTBEAT) as ws:
            self._resume = True
            await sink.connected()
            try:
                async for text in stream_http.messages(ws, f"jetstream {httpx.URL(url).host}"):
                    event = stream_http.parse_message(text)
                    cursor = event.get("time_us") if event else None
                    post = self._post(event) if event else None
                    await sink.add(post and await self._with_author(post),
                                   str(cursor) if isinstance(cursor, int) else None)
            except stream_http.TooBigError:
                self._resume = False
                raise

    def _subscribe_url(self, cursor: str | None) -> str:
        params = [("wantedCollections", POST)]
        if cursor and cursor.isdigit():
            params.append(("cursor", str(max(int(cursor) - int(self.config.rewind * 1_000_000), 0))))
        return f"{self.config.url}?{urlencode(params)}"

    def _post(self, event: dict[str, Any]) -> Post | None:
        """A new post that names a brand; None for anything else (other kinds, deletes, malformed events)."""
        commit, did = as_dict(event.get("commit")), event.get("did")
        record = as_dict(commit.get("record"))
        rkey, text = commit.get("rkey"), record.get("text")
        if (event.get("kind") != "commit" or commit.get("operation") != "create" or commit.get("collection") != POST
                or not isinstance(did, str) or not isinstance(rkey, str) or not isinstance(text, str)):
            return None
        langs = record.get("langs") if isinstance(record.get("langs"), list) else []
        parent = as_dict(as_dict(record.get("reply")).get("parent"))
        uri = f"at://{did}/{POST}/{rkey}"
        post = Post(
            source_id=self.source_id,
            platform=self.platform,
            id=uri,
            url=f"https://bsky.app/profile/{did}/post/{rkey}",
            text=text[:MAX_TEXT],
            author=Author(handle=did),
            published_at=from_iso(record.get("createdAt")) or _from_us(event.get("time_us")),
            lang_hint=langs[0] if langs and isinstance(langs[0], str) else None,
            raw={"uri": uri, "cid": commit.get("cid"), "did": did, "created_at": record.get("createdAt"),
                 "reply_parent": parent.get("uri") if isinstance(parent.get("uri"), str) else None},
        )
        return post if self.matcher.match(post) else None

    async def _with_author(self, post: Post) -> Post:
        """The post with its author's handle (and so the same URL as the polling source) and follower count."""
        did = post.raw["did"]
        found = await self._profile(did)
        if found is None:
            return post
        handle, name, followers = found
        profile = handle if handle and handle != "handle.invalid" else did
        return replace(post, url=f"https://bsky.app/profile/{profile}/post/{post.id.rsplit('/', 1)[-1]}",
                       author=Author(handle=handle or did, display_name=name, followers=followers))

    async def _profile(self, did: str) -> tuple[str, str, int | None] | None:
        cached = self._profiles.get(did)
        if cached and self.clock() - cached[3] < PROFILE_TTL:
            return cached[:3]
        if not self.config.profiles_url:
            return None
        url = f"{self.config.profiles_url.rstrip('/')}/xrpc/app.bsky.actor.getProfile?{urlencode({'actor': did})}"
        try:
            _, body = await get_capped(self.http, url, max_bytes=65536, timeout=self.config.timeout)
            data = as_dict(parse_json(body, "bluesky getProfile"))
        except ExternalError as exc:  # the post still goes out, shown by the author's DID
            if not self._profile_failing:
                log.warning("source_enrichment_failed", source_id=self.source_id, error=str(exc))
            self._profile_failing = True
            return None
        self._profile_failing = False
        followers = data.get("followersCount")
        found = (str(data.get("handle") or ""), str(data.get("displayName") or ""),
                 followers if isinstance(followers, int) else None)
        if len(self._profiles) >= PROFILE_CACHE_MAX:
            self._profiles.pop(next(iter(self._profiles)))
        self._profiles[did] = (*found, self.clock())
        return found


def _from_us(time_us: Any) -> datetime | None:
    return datetime.fromtimestamp(time_us / 1e6, timezone.utc) if isinstance(time_us, int) else None


@registry.source("bluesky_jetstream", JetstreamConfig)
def make_bluesky_jetstream(source_id: str, config: JetstreamConfig, ctx: registry.PluginContext) -> JetstreamSource:
    return JetstreamSource(source_id, config, ctx)
