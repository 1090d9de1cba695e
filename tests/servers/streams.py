"""Streaming services on 127.0.0.1, run in the test's event loop (aiohttp.web): a Jetstream-compatible WebSocket
server with a Bluesky AppView and PDS beside it, and a Mastodon instance with its streaming API (server-sent
events) and the tag timeline its polling twin reads."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

POST = "app.bsky.feed.post"


def jetstream_post(time_us: int, text: str, did: str = "did:plc:kundin", rkey: str | None = None) -> dict[str, Any]:
    """A Jetstream commit event as the service sends it (kind, commit.operation, collection, rkey, record)."""
    return {"did": did, "time_us": time_us, "kind": "commit",
            "commit": {"rev": f"3l{time_us}", "operation": "create", "collection": POST,
                       "rkey": rkey or f"3k{time_us}", "cid": f"bafyrei{time_us}",
                       "record": {"$type": POST, "text": text, "langs": ["en"], "createdAt": datetime.fromtimestamp(
                           time_us / 1e6, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")}}}


class _Site:
    def __init__(self):
        self.app = web.Application()
        self.runner: web.AppRunner | None = None
        self.port = 0
        self._live: list[asyncio.Queue] = []

    async def start(self) -> "_Site":
        self.runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]
        return self

    async def close(self) -> None:
        for queue in self._live:  # handlers waiting for the next event end, or cleanup waits a minute for them
            queue.put_nowait(None)
        await self.runner.cleanup()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class JetstreamServer(_Site):
    """`/subscribe`: replays the events from `cursor` on (none without one: the live end), then sends each
    `publish`ed event. `refuse` answers the upgrade with that status; `close_after` closes a connection after sending
    that many events. `/xrpc/app.bsky.actor.getProfile` answers with a handle per DID; the PDS part (createSession,
    searchPosts) serves the polling `bluesky` source and counts its searches."""

    def __init__(self):
        super().__init__()
        self.events: list[dict[str, Any] | str] = []
        self.connections: list[dict[str, str]] = []
        self.refuse: int | None = None
        self.close_after: int | None = None
        self.searches = 0
        self.app.router.add_get("/subscribe", self._subscribe)
        self.app.router.add_get("/xrpc/app.bsky.actor.getProfile", self._profile)
        self.app.router.add_post("/xrpc/com.atproto.server.createSession", self._session)
        self.app.router.add_get("/xrpc/app.bsky.feed.searchPosts", self._search)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/subscribe"

    def publish(self, event: dict[str, Any] | str) -> None:
        self.events.append(event)
        for queue in self._live:
            queue.put_nowait(event)

    async def _subscribe(self, request: web.Request) -> web.StreamResponse:
        if self.refuse:
            self.connections.append(dict(request.query))
            return web.json_response({"error": "refused"}, status=self.refuse, headers={"Retry-After": "30"})
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        queue: asyncio.Queue = asyncio.Queue()
        if "cursor" in request.query:
            for event in self.events:
                if isinstance(event, str) or event["time_us"] >= int(request.query["cursor"]):
                    queue.put_nowait(event)
        self._live.append(queue)
        self.connections.append(dict(request.query))
        reader = asyncio.create_task(self._until_closed(ws, queue))
        sent = 0
        try:
            while (self.close_after is None or sent < self.close_after) and (event := await queue.get()) is not None:
                await ws.send_str(event if isinstance(event, str) else json.dumps(event))
                sent += 1
            await ws.close()
        finally:
            self._live.remove(queue)
            reader.cancel()
        return ws

    @staticmethod
    async def _until_closed(ws: web.WebSocketResponse, queue: asyncio.Queue) -> None:
        async for _ in ws:  # answers the client's close frame, as Jetstream does
            pass
        queue.put_nowait(None)

    async def _profile(self, request: web.Request) -> web.Response:
        did = request.query["actor"]
        return web.json_response({"did": did, "handle": f"{did.rsplit(':', 1)[-1]}.bsky.social",
                                  "displayName": "Kundin", "followersCount": 1234})

    async def _session(self, request: web.Request) -> web.Response:
        return web.json_response({"accessJwt": "a", "refreshJwt": "r", "did": "did:plc:us", "handle": "us.test"})

    async def _search(self, request: web.Request) -> web.Response:
        self.searches += 1
        return web.json_response({"posts": []})


class MastodonStreamServer(_Site):
    """The streaming API's SSE endpoints (`/api/v1/streaming/hashtag?tag=`, `/public/local`), each sending
    `push`ed events, with heartbeat comments; `token` makes it refuse requests without it (401, Mastodon's body).
    `/api/v1/timelines/tag/<tag>` is the polling source's view, counted in `polls`."""

    def __init__(self, token: str | None = None):
        super().__init__()
        self.token = token
        self.limited_until: datetime | None = None  # answer 429 as Mastodon's rate limiter does until then
        self.connections: list[str] = []
        self.polls = 0
        self.statuses: list[dict[str, Any]] = []
        self.app.router.add_get("/api/v1/streaming/hashtag", self._stream)
        self.app.router.add_get("/api/v1/streaming/public/local", self._stream)
        self.app.router.add_get("/api/v1/timelines/tag/{tag}", self._timeline)

    def push(self, event: str, data: str) -> None:
        for queue in self._live:
            queue.put_nowait((event, data))

    def close_streams(self) -> None:
        for queue in self._live:
            queue.put_nowait(None)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        self.connections.append(request.path_qs)
        if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "Error: Missing access token"}, status=401)
        if self.limited_until is not None:
            reset = self.limited_until.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            return web.json_response({"error": "Too many requests"}, status=429, headers={
                "X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
        await response.prepare(request)
        await response.write(b":)\n")
        queue: asyncio.Queue = asyncio.Queue()
        self._live.append(queue)
        try:
            while (item := await queue.get()) is not None:
                event, data = item
                await response.write(f":thump\nevent: {event}\ndata: {data}\n\n".encode())
        finally:
            self._live.remove(queue)
        return response

    async def _timeline(self, request: web.Request) -> web.Response:
        self.polls += 1
        return web.json_response(self.statuses)
