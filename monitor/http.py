"""The one shared httpx client, and the mapping from HTTP responses to our error kinds.

Nothing a server sends may take the daemon down or reach inside: bodies are decoded in bounded steps with the cap
counted on decoded bytes (a 3 KB double-gzip bomb must not become 2 GB), and every connection is checked against
private networks (a feed's redirect must not read the daemon's own host or its cloud's metadata service).
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
import zlib
from collections.abc import Iterator
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpcore
import httpx

from . import __version__
from .errors import AuthFailedError, PermanentError, RateLimitedError, TransientError
from .redaction import redact  # sources and notifiers import it from here

USER_AGENT = f"brand-monitor/{__version__} (+https://github.com/brand-monitor/brand-monitor)"
MAX_RETRY_AFTER = 24 * 3600.0
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=40)

ACCEPT_ENCODING = "gzip, deflate"  # only what _read_capped decodes in bounded steps
MAX_CODINGS = 2                    # "gzip, gzip" is legal; deeper stacks are only ever bombs
DECODE_STEP = 64 * 1024            # most bytes one layer of decoding produces at a time
_WBITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}

NETWORKS = "brand_monitor.networks"  # request extension: the kinds of private network the request may connect to
LANE = "brand_monitor.lane"  # request extension: "poll" or "deliver"; each takes its own per-host turns
METADATA = "cloud metadata"
_METADATA = frozenset(map(ipaddress.ip_address, ("169.254.169.254", "169.254.170.2", "100.100.100.200",
                                                 "fd00:ec2::254")))
_KINDS = [(kind, [ipaddress.ip_network(n) for n in networks]) for kind, networks in [
    ("loopback", ["127.0.0.0/8", "0.0.0.0/8", "::1/128", "::/128"]),  # 0.0.0.0 reaches this host too
    ("link-local", ["169.254.0.0/16", "fe80::/10"]),
    ("CGNAT", ["100.64.0.0/10"]),
    ("unique-local", ["fc00::/7"]),
]]
PRIVATE_NETWORKS = frozenset([kind for kind, _ in _KINDS] + ["private"])  # all but cloud metadata
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def make_client(timeout: float = 20.0, per_host: int = 4, proxy: str | None = None) -> Client:
    """The shared client: one connection pool per network policy (or every request through `proxy`), at most
    `per_host` requests in flight to any one host."""
    pools = _ProxiedPools(proxy) if proxy else _GuardedPools()
    return Client(_PerHostLimit(pools, per_host), httpx.Timeout(timeout, connect=min(timeout, 10.0)))


class Client(httpx.AsyncClient):
    """A request may connect to public addresses and to the kind of private address its own URL names: a configured
    http://127.0.0.1:8080/feed works and may redirect within loopback, but not to 10.0.0.0/8 or cloud metadata, and
    a host name that resolves to a private address is refused. Redirects keep the policy of their first request."""

    def __init__(self, transport: httpx.AsyncBaseTransport, timeout: httpx.Timeout, private_network: bool = False,
                 lane: str = "poll"):
        # trust_env=False: proxies come from polling.proxy only; httpx's own proxy transports would skip the guard
        super().__init__(timeout=timeout, headers={"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING},
                         follow_redirects=True, transport=transport, trust_env=False)
        self._shared_transport = transport
        self._private_network = private_network
        self._lane = lane

    def build_request(self, *args: Any, **kwargs: Any) -> httpx.Request:
        request = super().build_request(*args, **kwargs)
        request.extensions[NETWORKS] = self.networks_for(request.url)
        request.extensions[LANE] = self._lane
        return request

    def networks_for(self, url: httpx.URL) -> frozenset[str]:
        """The kinds of private network a request to `url` may connect to (streams apply it to their sockets)."""
        return home_networks(url) | (PRIVATE_NETWORKS if self._private_network else frozenset())

    def with_private_network(self) -> Client:
        """The same pools, for sources the operator opted in (`allow_private_network`): private networks are
        allowed, cloud metadata still is not."""
        return Client(self._shared_transport, self.timeout, private_network=True, lane=self._lane)

    def for_destinations(self) -> Client:
        """For notifiers and acknowledgement listeners: private networks allowed (the operator chose them), and
        per-host turns of their own, so a burst of polls to a host never delays an alert to the same host."""
        return Client(self._shared_transport, self.timeout, private_network=True, lane="deliver")


def home_networks(url: httpx.URL) -> frozenset[str]:
    """The kind of private network a URL names by itself: its IP address's, or loopback for localhost. A host name
    names none: whoever runs its DNS must not be able to point it inside."""
    host = url.host
    if host == "localhost" or host.endswith(".localhost"):
        return frozenset({"loopback"})
    try:
        kind = network_kind(ipaddress.ip_address(host))
    except ValueError:
        return frozenset()
    return frozenset({kind}) if kind else frozenset()


def network_kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """The kind of non-public network an address is in; None for a public one."""
    if ip.version == 6:  # IPv4 in disguise: ::ffff:a.b.c.d, 6to4, NAT64
        ip = ip.ipv4_mapped or ip.sixtofour or (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else ip)
    if ip in _METADATA:
        return METADATA
    for kind, networks in _KINDS:
        if any(ip in network for network in networks):
            return kind
    return None if ip.is_global else "private"


class PrivateAddressError(PermanentError):
    """A connection to a network the request may not reach was refused."""


class _GuardedPools(httpx.AsyncBaseTransport):
    """One connection pool per network policy, so a connection opened to 127.0.0.1 for a source configured there
    is never reused by a redirect that may not go there. A request not built by Client reaches public addresses
    only."""

    def __init__(self):
        self._pools: dict[frozenset[str], httpx.AsyncHTTPTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        allowed = request.extensions.get(NETWORKS, frozenset())
        if allowed not in self._pools:
            self._pools[allowed] = _guarded_transport(allowed)
        return await self._pools[allowed].handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self._pools.values():
            await pool.aclose()


def _guarded_transport(allowed: frozenset[str]) -> httpx.AsyncHTTPTransport:
    ssl_context = httpx.create_ssl_context()
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, retries=1, limits=LIMITS)
    # httpx takes no network backend (encode/httpx#3749): its pool is rebuilt the same way, with ours
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context, max_connections=LIMITS.max_connections,
        max_keepalive_connections=LIMITS.max_keepalive_connections, keepalive_expiry=LIMITS.keepalive_expiry,
        retries=1, network_backend=_GuardedBackend(allowed))
    return transport


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Refuses addresses outside the allowed private networks: an address in the URL before connecting, a name on
    the address it reached (so DNS answers that change between lookups do not matter), before a byte is sent."""

    def __init__(self, allowed: frozenset[str]):
        self._allowed = allowed
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        _check_address(self._allowed, host, host, port)
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            _check_address(self._allowed, host, stream.get_extra_info("server_addr")[0], port)
        except PrivateAddressError:
            await stream.aclose()
            raise
        return stream

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _check_address(allowed: frozenset[str], host: str, address: str, port: int) -> None:
    """Refuse `address` (what `host` stands for) if it is in a private network not `allowed`; a name passes."""
    try:
        reason = refusal(ipaddress.ip_address(address), allowed)
    except ValueError:
        return
    if reason:
        where = address if host == address else f"{host} ({address})"
        raise PrivateAddressError(f"refused to connect to {where} port {port}, {reason}")


def refusal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, allowed: frozenset[str]) -> str | None:
    """Why a connection to `ip` is refused when only public addresses and the `allowed` networks may be reached;
    None when it is not."""
    kind = network_kind(ip)
    if kind is None or kind in allowed:
        return None
    hint = "" if kind == METADATA else "; `allow_private_network: true` on the source allows it"
    return f"a {kind} address{hint}"

class _ProxiedPools(httpx.AsyncBaseTransport):
    """Every request through the configured proxy (`polling.proxy`). The proxy, not we, connects to the target, so
    the target's addresses are looked up and checked here first. Left open: a name whose DNS answer changes
    between our lookup and the proxy's (DNS rebinding) gets past the check."""

    def __init__(self, proxy: str):
        self._transport = httpx.AsyncHTTPTransport(proxy=proxy, retries=1, limits=LIMITS)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        allowed = request.extensions.get(NETWORKS, frozenset())
        host, port = request.url.host, request.url.port or (443 if request.url.scheme == "https" else 80)
        for address in await _addresses(host, port):
            _check_address(allowed, host, address, port)
        return await self._transport.handle_async_request(request)

    async def aclose(self) -> None:
        await self._transport.aclose()


async def _addresses(host: str, port: int) -> set[str]:
    """The addresses `host` stands for: itself if it is one."""
    try:
        ipaddress.ip_address(host)
        return {host}
    except ValueError:
        pass
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TransientError(f"cannot look up {host} to check that it is not a private address: {exc}") from None
    return {info[4][0] for info in found}


class _PerHostLimit(httpx.AsyncBaseTransport):
    """Polite crawling: many sources on one host (several subreddits, many feeds of one site) take turns; deliveries
    to a host take turns among themselves, apart from the polls."""

    def __init__(self, inner: httpx.AsyncBaseTransport, limit: int):
        self._inner = inner
        self._limit = limit
        self._slots: dict[tuple[str, str], asyncio.Semaphore] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.extensions.get(LANE, "poll"), request.url.host)
        slot = self._slots.setdefault(key, asyncio.Semaphore(self._limit))
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
                      what: str | None = None, **kwargs: Any) -> tuple[httpx.Response, bytes]:
    """Send a request and read at most `max_bytes` of the decoded body, whatever the status (some APIs explain
    their errors in it), all within `timeout` seconds (httpx alone would allow `timeout` per read, so a server
    trickling bytes could hold on forever). Network trouble -> TransientError; too big, or an address the request
    may not reach -> PermanentError. Errors name the request `what`, by default its redacted URL."""
    what = what or redact(url)
    try:
        async with asyncio.timeout(timeout):
            async with client.stream(method, url, timeout=timeout, **kwargs) as response:
                return response, await _read_capped(response, max_bytes, what)
    except PrivateAddressError as exc:
        raise PrivateAddressError(f"{what}: {exc}") from None
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
    raise_for_code(response.status_code, response.headers.get("Retry-After"), what)


def raise_for_code(status: int, retry_after: str | None, what: str) -> None:
    """raise_for_status for a status code and Retry-After header that did not come in an httpx.Response."""
    if status < 400 or status == 304:
        return
    message = f"{what}: HTTP {status}"
    if status in (429, 503):
        raise RateLimitedError(message, parse_retry_after(retry_after))
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

