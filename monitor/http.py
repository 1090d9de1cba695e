"""The one shared httpx client, and the mapping from HTTP responses to our error kinds.

Nothing a server sends may take the daemon down: bodies are decoded in bounded steps with the cap counted on
decoded bytes (a 3 KB double-gzip bomb must not become 2 GB).
"""
from __future__ import annotations

import asyncio
import re
import zlib
from collections.abc import Iterator
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from . import __version__
from .errors import AuthFailedError, PermanentError, RateLimitedError, TransientError

USER_AGENT = f"brand-monitor/{__version__} (+https://github.com/brand-monitor/brand-monitor)"
MAX_RETRY_AFTER = 24 * 3600.0

ACCEPT_ENCODING = "gzip, deflate"  # only what _read_capped decodes in bounded steps
MAX_CODINGS = 2                    # "gzip, gzip" is legal; deeper stacks are only ever bombs
DECODE_STEP = 64 * 1024            # most bytes one layer of decoding produces at a time
_WBITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}


def make_client(timeout: float = 20.0, per_host: int = 4) -> httpx.AsyncClient:
    """The shared client: one connection pool, at most `per_host` requests in flight to any one host."""
    transport = httpx.AsyncHTTPTransport(retries=1, limits=httpx.Limits(max_connections=100,
                                                                        max_keepalive_connections=40))
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING},
        follow_redirects=True,
        transport=_PerHostLimit(transport, per_host),
    )


class _PerHostLimit(httpx.AsyncBaseTransport):
    """Polite crawling: many sources on one host (several subreddits, many feeds of one site) take turns."""

    def __init__(self, inner: httpx.AsyncBaseTransport, limit: int):
        self._inner = inner
        self._limit = limit
        self._slots: dict[str, asyncio.Semaphore] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        slot = self._slots.setdefault(request.url.host, asyncio.Semaphore(self._limit))
        await slot.acquire()
        try:
            response = await self._inner.handle_async_request(request)
        except BaseException:
            slot.release()
            raise
        response.stream = _ReleasingStream(response.stream, slot)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class _ReleasingStream(httpx.AsyncByteStream):
    """Holds the host's slot until the body has been read or abandoned."""

    def __init__(self, inner, slot: asyncio.Semaphore):
        self._inner = inner
        self._slot: asyncio.Semaphore | None = slot

    async def __aiter__(self):
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            if self._slot is not None:
                self._slot.release()
                self._slot = None


async def send_capped(client: httpx.AsyncClient, method: str, url: str, *, max_bytes: int, timeout: float,
                      **kwargs: Any) -> tuple[httpx.Response, bytes]:
    """Send a request and read at most `max_bytes` of the decoded body, whatever the status (some APIs explain
    their errors in it), all within `timeout` seconds (httpx alone would allow `timeout` per read, so a server
    trickling bytes could hold on forever). Network trouble -> TransientError; too big -> PermanentError."""
    what = redact(url)
    try:
        async with asyncio.timeout(timeout):
            async with client.stream(method, url, timeout=timeout, **kwargs) as response:
                return response, await _read_capped(response, max_bytes, what)
    except TimeoutError as exc:
        raise TransientError(f"timed out: {method} {what}") from exc
    except httpx.TimeoutException as exc:
        raise TransientError(f"timed out: {method} {what}") from exc
    except httpx.HTTPError as exc:
        raise TransientError(f"{type(exc).__name__}: {method} {what}") from exc


async def get_capped(client: httpx.AsyncClient, url: str, *, headers: dict[str, str] | None = None,
                     max_bytes: int, timeout: float) -> tuple[httpx.Response, bytes]:
    """GET with send_capped, then map a failure status to the error kind the runner acts on."""
    response, body = await send_capped(client, "GET", url, headers=headers, max_bytes=max_bytes, timeout=timeout)
    raise_for_status(response, what=redact(url))
    return response, body


async def _read_capped(response: httpx.Response, max_bytes: int, what: str) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise PermanentError(f"{what}: response of {int(declared)} bytes exceeds the {max_bytes}-byte cap")
    encoding = response.headers.get("Content-Encoding", "")
    layers = _layers(encoding, what)
    encoding = encoding[:100]
    chunks, received, size = [], 0, 0
    async for raw in response.aiter_raw():
        received += len(raw)
        if received > max_bytes:
            raise PermanentError(f"{what}: response exceeds the {max_bytes}-byte cap")
        try:
            for piece in _decode(layers, raw):
                size += len(piece)
                if size > max_bytes:
                    raise PermanentError(f"{what}: decoded body exceeds the {max_bytes}-byte cap "
                                         f"(Content-Encoding: {encoding})")
                chunks.append(piece)
                await asyncio.sleep(0)  # between steps of a bomb, the other sources get their turn
        except zlib.error as exc:
            raise TransientError(f"{what}: body does not decode as Content-Encoding {encoding}: {exc}") from None
    return b"".join(chunks)


def _layers(encoding: str, what: str) -> list[_Inflater]:
    """Decoders for a Content-Encoding header, outermost first (the last coding listed was applied last)."""
    codings = [c for c in (part.strip().lower() for part in encoding.split(",")) if c not in ("", "identity")]
    if any(c not in _WBITS for c in codings):
        raise PermanentError(f"{what}: unsupported Content-Encoding: {encoding[:100]} (gzip and deflate are)")
    if len(codings) > MAX_CODINGS:
        raise PermanentError(f"{what}: Content-Encoding stacks {len(codings)} codings, more than {MAX_CODINGS}: "
                             f"{encoding[:100]}")
    return [_Inflater(coding) for coding in reversed(codings)]


def _decode(layers: list[_Inflater], data: bytes) -> Iterator[bytes]:
    """`data` through every layer, no layer producing more than DECODE_STEP bytes at a time."""
    if not layers:
        if data:
            yield data
        return
    for piece in layers[0].steps(data):
        yield from _decode(layers[1:], piece)


class _Inflater:
    """One layer of gzip or deflate, undone DECODE_STEP output bytes at a time."""

    def __init__(self, coding: str):
        self._coding = coding
        self._zlib = zlib.decompressobj(_WBITS[coding])
        self._started = False

    def steps(self, data: bytes) -> Iterator[bytes]:
        while True:
            try:
                out = self._zlib.decompress(data, DECODE_STEP)
            except zlib.error:
                if self._started or self._coding != "deflate":
                    raise
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)  # some servers send deflate without its header
                out = self._zlib.decompress(data, DECODE_STEP)
            self._started = True
            data = self._zlib.unconsumed_tail
            yield out
            if not data and len(out) < DECODE_STEP:  # a full step may leave output pending without input
                return


def raise_for_status(response: httpx.Response, what: str) -> None:
    """Map a non-success status to the error kind the runner and the delivery worker act on."""
    status = response.status_code
    if status < 400 or status == 304:
        return
    message = f"{what}: HTTP {status}"
    if status in (429, 503):
        raise RateLimitedError(message, parse_retry_after(response.headers.get("Retry-After")))
    if status in (401, 403):
        raise AuthFailedError(message)
    if status in (408, 425) or status >= 500:
        raise TransientError(message)
    raise PermanentError(message)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent or garbled."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


_SECRET_PATTERNS = [
    (re.compile(r"(hooks\.slack\.com/services/)[^\s\"'?#]+"), r"\1***"),
    (re.compile(r"(/api/webhooks/\d+/)[^\s\"'?#/]+"), r"\1***"),
    (re.compile(r"(/bot)\d+:[\w-]+"), r"\1***"),
    (re.compile(r"([?&](?:sig|key|token|access_token|api_key|apikey|password|secret)=)[^&\s\"'#]+", re.I), r"\1***"),
    (re.compile(r"(://[^/\s:@]+:)[^@/\s]+@"), r"\1***@"),
    (re.compile(r"(Bearer\s+)[\w.~+/=-]+", re.I), r"\1***"),
]


def redact(text: str) -> str:
    """Hide credentials that ride inside URLs and headers (webhook paths, bot tokens, sig=, user:pass@)."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text
