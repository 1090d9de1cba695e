"""The one shared httpx client, and the mapping from HTTP responses to our error kinds."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from . import __version__
from .errors import AuthFailedError, PermanentError, RateLimitedError, TransientError
from .redaction import redact  # sources and notifiers import it from here

USER_AGENT = f"brand-monitor/{__version__} (+https://github.com/brand-monitor/brand-monitor)"
MAX_RETRY_AFTER = 24 * 3600.0


def make_client(timeout: float = 20.0, per_host: int = 4) -> httpx.AsyncClient:
    """The shared client: one connection pool, at most `per_host` requests in flight to any one host."""
    transport = httpx.AsyncHTTPTransport(retries=1, limits=httpx.Limits(max_connections=100,
                                                                        max_keepalive_connections=40))
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        headers={"User-Agent": USER_AGENT},
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
    """Send a request and read at most `max_bytes` of the body, whatever the status (some APIs explain their
    errors in it), all within `timeout` seconds (httpx alone would allow `timeout` per read, so a server
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
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise PermanentError(f"{what}: response exceeds the {max_bytes}-byte cap")
        chunks.append(chunk)
    return b"".join(chunks)


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

