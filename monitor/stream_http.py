"""Long-lived connections for streaming sources (aiohttp): a WebSocket, or server-sent events over HTTP.

Imported only when a stream connects (aiohttp costs 0.2 s of start-up). The same network guard as monitor.http:
every socket is checked against the networks the URL may reach before it connects, whatever the DNS said and
wherever a redirect pointed; every message is capped; failures come out as our error kinds.
"""
from __future__ import annotations

import errno
import ipaddress
import json
import socket
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from .errors import PermanentError, TransientError
from .http import USER_AGENT, PrivateAddressError, raise_for_code, redact, refusal
from .sources.common import from_iso

MAX_REDIRECTS = 3
CLOSE_TIMEOUT = 2.0  # a stop waits this long at most for the server to confirm a WebSocket's close


class TooBigError(TransientError):
    """A message over the cap: the connection is dropped (the protocols allow nothing else) and made again."""


class _RefusedAddress(OSError):
    pass


@asynccontextmanager
async def session(networks: frozenset[str], connect_timeout: float,
                  idle_timeout: float) -> AsyncIterator[aiohttp.ClientSession]:
    """A session whose sockets may reach public addresses and the private `networks` only; a read that waits
    longer than `idle_timeout` fails (a stream that went silent is as good as gone)."""
    def guarded_socket(addr_info: Any):
        family, type_, proto, _, address = addr_info
        reason = refusal(ipaddress.ip_address(address[0]), networks)
        if reason:
            raise _RefusedAddress(errno.EACCES, f"refused to connect to {address[0]} port {address[1]}, {reason}")
        return socket.socket(family, type_, proto)

    connector = aiohttp.TCPConnector(socket_factory=guarded_socket, limit=4)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=idle_timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout,
                                     headers={"User-Agent": USER_AGENT}) as client:
        yield client


@asynccontextmanager
async def websocket(client: aiohttp.ClientSession, url: str, max_bytes: int,
                    heartbeat: float) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """A WebSocket to `url`; an upgrade refused with 401/404/429... raises what raise_for_status says."""
    try:
        async with client.ws_connect(url, max_msg_size=max_bytes, heartbeat=heartbeat,
                                     timeout=aiohttp.ClientWSTimeout(ws_close=CLOSE_TIMEOUT)) as ws:
            yield ws
    except aiohttp.WSServerHandshakeError as exc:
        raise_for_code(exc.status, _retry_after(exc.headers or {}), redact(url))
        raise TransientError(f"{redact(url)}: WebSocket handshake failed: HTTP {exc.status}") from None
    except aiohttp.ClientConnectorError as exc:
        _raise_connect_error(exc, url)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise TransientError(f"{redact(url)}: {type(exc).__name__}: {exc}") from None


async def messages(ws: aiohttp.ClientWebSocketResponse, what: str) -> AsyncIterator[str]:
    """The text messages of a WebSocket until the server closes it; an error or oversized message raises."""
    async for message in ws:
        if message.type == aiohttp.WSMsgType.TEXT:
            yield message.data
        elif message.type == aiohttp.WSMsgType.ERROR:
            if getattr(message.data, "code", None) == aiohttp.WSCloseCode.MESSAGE_TOO_BIG:
                raise TooBigError(f"{what}: a message exceeds the cap ({message.data})")
            raise TransientError(f"{what}: {type(message.data).__name__}: {message.data}")


@asynccontextmanager
async def event_stream(client: aiohttp.ClientSession, url: str, headers: dict[str, str],
                       ) -> AsyncIterator[aiohttp.ClientResponse]:
    """GET a server-sent events stream, following up to MAX_REDIRECTS redirects (Mastodon sends the streaming
    API to a host of its own); a failure status raises what raise_for_status says."""
    try:
        for _ in range(MAX_REDIRECTS + 1):
            async with client.get(url, headers={"Accept": "text/event-stream", **headers},
                                  allow_redirects=False) as response:
                if response.status in (301, 302, 303, 307, 308) and "Location" in response.headers:
                    url = str(response.url.join(aiohttp.client.URL(response.headers["Location"])))
                    continue
                raise_for_code(response.status, _retry_after(response.headers), redact(url))
                yield response
                return
        raise PermanentError(f"{redact(url)}: more than {MAX_REDIRECTS} redirects")
    except aiohttp.ClientConnectorError as exc:
        _raise_connect_error(exc, url)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise TransientError(f"{redact(url)}: {type(exc).__name__}: {exc}") from None


async def sse_events(response: aiohttp.ClientResponse, max_bytes: int) -> AsyncIterator[tuple[str, str]]:
    """(event, data) of each server-sent event until the server ends the stream. Comment lines (heartbeats) are
    skipped; an event whose data grows past `max_bytes` is dropped whole and the stream goes on."""
    event, data, size, pending = "message", [], 0, b""
    async for chunk in response.content.iter_any():
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        if len(pending) > max_bytes:
            pending, size = b"", max_bytes + 1  # the rest of this line is dropped with its event
        for raw in lines:
            line = raw.rstrip(b"\r").decode("utf-8", "replace")
            if not line:
                if data and size <= max_bytes:
                    yield event, "\n".join(data)
                event, data, size = "message", [], 0
            elif line.startswith(":"):
                continue
            else:
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if field == "event":
                    event = value
                elif field == "data" and size <= max_bytes:
                    size += len(raw)
                    data.append(value)


def parse_message(text: str) -> dict[str, Any] | None:
    """A JSON object message, or None for anything else (garbage is skipped, not fatal)."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _raise_connect_error(exc: aiohttp.ClientConnectorError, url: str) -> None:
    if isinstance(exc.os_error, _RefusedAddress):
        raise PrivateAddressError(f"{redact(url)}: {exc.os_error.strerror}") from None
    raise TransientError(f"{redact(url)}: cannot connect: {exc.os_error.strerror or exc}") from None


def _retry_after(headers: Mapping[str, str]) -> str | None:
    """Retry-After, or else Mastodon's X-RateLimit-Reset (an ISO time) as seconds from now."""
    if "Retry-After" in headers:
        return headers["Retry-After"]
    reset = from_iso(headers.get("X-RateLimit-Reset"))
    return None if reset is None else str(max(0, round(reset.timestamp() - time.time())))
