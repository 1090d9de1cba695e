"""Mastodon in real time: the streaming API's server-sent events, one connection per hashtag
(`/api/v1/streaming/hashtag?tag=...`) and optionally the instance's local timeline (`/api/v1/streaming/public/local`).

`update` events are statuses, turned into Posts exactly as the polling `mastodon` source does (same ids), and kept
only where the brands' matcher finds a brand. Streams do not replay what was missed: each (re)connection asks the
daemon for one poll of the fallback source, which covers the gap.
"""
from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import ClassVar, Literal
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr, field_validator

from .. import registry
from ..matching import Matcher
from ..settings import StreamConfig
from .base import SourceState, StreamSink, search_terms
from .mastodon import MastodonInstance, hashtags_for, status_to_post

IDLE_TIMEOUT = 120.0  # Mastodon sends a heartbeat comment every few seconds; this much silence is a dead connection


class MastodonStreamingConfig(StreamConfig):
    type: Literal["mastodon_streaming"]
    fallback_kind: ClassVar[str] = "mastodon"
    replays: ClassVar[bool] = False
    instance: str = "https://mastodon.social"
    access_token: SecretStr | None = None
    hashtags: list[str] = []  # default: derived from the brands' keywords
    local: bool = False  # also every public post written on this instance
    respect_noindex: bool = True

    @field_validator("instance")
    @classmethod
    def _with_scheme(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        return value if "://" in value else f"https://{value}"


class MastodonStreamingSource:
    platform = "mastodon"

    def __init__(self, source_id: str, config: MastodonStreamingConfig, ctx: registry.PluginContext):
        self.source_id, self.config, self.http = source_id, config, ctx.http
        self.instance = MastodonInstance(url=config.instance, access_token=config.access_token)
        self.matcher = Matcher([b for b in ctx.brands if not config.brands or b.name in config.brands])
        tags = hashtags_for(config.hashtags or search_terms(ctx.brands, config.brands))
        self.paths = [f"/api/v1/streaming/hashtag?{urlencode({'tag': t})}" for t in tags]
        self.paths += ["/api/v1/streaming/public/local"] if config.local else []

    async def stream(self, state: SourceState, sink: StreamSink) -> None:
        from .. import stream_http  # noqa: PLC0415 - aiohttp is loaded only when a stream connects

        networks = self.http.networks_for(httpx.URL(self.config.instance))
        token = self.config.access_token
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}
        async with stream_http.session(networks, self.config.timeout, IDLE_TIMEOUT) as client, \
                AsyncExitStack() as opened:
            responses = [await opened.enter_async_context(
                stream_http.event_stream(client, self.config.instance + path, headers)) for path in self.paths]
            await sink.connected()
            readers = [asyncio.create_task(self._read(r, sink, stream_http)) for r in responses]
            done, pending = await asyncio.wait(readers, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            for task in done:
                task.result()  # the first connection to end ends them all, and says why

    async def _read(self, response, sink: StreamSink, stream_http) -> None:
        async for event, data in stream_http.sse_events(response, self.config.max_bytes):
            status = stream_http.parse_message(data) if event == "update" else None
            post = status_to_post(self.source_id, status, self.instance, self.config.respect_noindex) \
                if status and isinstance(status.get("id"), str) else None
            await sink.add(post if post and self.matcher.match(post) else None, None)


@registry.source("mastodon_streaming", MastodonStreamingConfig)
def make_mastodon_streaming(source_id: str, config: MastodonStreamingConfig,
                            ctx: registry.PluginContext) -> MastodonStreamingSource:
    return MastodonStreamingSource(source_id, config, ctx)
