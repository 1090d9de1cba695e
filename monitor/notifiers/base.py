"""The notifier contract: `await notifier.send(alert, idempotency_key) -> Delivery`.

A notifier formats and sends one alert. It raises TransientError / RateLimitedError / PermanentError /
AuthFailedError (monitor.errors); it never returns a bare bool and never retries by itself: the delivery
worker owns retries, rate limits, dead letters and fallbacks. Messages of raised errors are logged: they
must not contain secrets (use monitor.http.redact on anything that holds a URL).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Protocol
from urllib.parse import urlsplit

import httpx
from pydantic import AfterValidator, SecretStr

from ..errors import PermanentError, TransientError
from ..http import raise_for_status, redact, send_capped
from ..models import Alert, Assessment, Author, Delivery, Engagement, Match, Mention, Post
from .format import clean, one_line, trim


class Notifier(Protocol):
    async def send(self, alert: Alert, idempotency_key: str) -> Delivery: ...


def sample_alert(brand: str = "Acme", now: datetime | None = None) -> Alert:
    """The alert `brand-monitor test-notify` sends: realistic, and hostile enough to prove the escaping."""
    now = now or datetime.now(timezone.utc)
    text = (f"Third time this week the {brand} app won't log me in <!channel> @everyone & still no answer "
            "from support. Fix it!")
    post = Post(source_id="test-notify", platform="test", id="sample-1", url="https://example.com/posts/1",
                title=f"{brand} login broken again", text=text,
                author=Author(handle="jane_doe", display_name="Jane Doe", followers=1520),
                published_at=now - timedelta(minutes=3), engagement=Engagement(likes=12, reposts=3, replies=4))
    start = text.index(brand)
    mention = Mention(post=post, brand=brand, competitor=False,
                      matches=(Match(term=brand, kind="exact", score=100.0, start=start, end=start + len(brand)),))
    assessment = Assessment(language="en", sentiment="negative", sentiment_score=-0.8, category="outage",
                            severity="high", reasons=("issue outage", "negative sentiment", "test alert"),
                            issue="outage", urgent=True, judged_by="test-notify sample")
    return Alert(id="test-notify-sample", mention=mention, assessment=assessment, routes=("test-notify",),
                 respond_by=now + timedelta(hours=1), created_at=now,
                 reply="Hi Jane, thank you for telling us and sorry for the trouble. We're looking into the "
                       "login problem now; could you send us a direct message so we can follow up?")


# -- the HTTP plumbing every HTTP notifier uses -----------------------------------------------------------------

MAX_REPLY = 1_000_000  # decoded bytes of a destination's reply; chat APIs answer in a few kilobytes


def http_url_problem(url: str) -> str | None:
    """Why `url` is not a usable http(s) URL (never echoing it: it may hold a token), or None."""
    if not url.lower().startswith(("https://", "http://")) or any(ch.isspace() for ch in url):
        return "must be an http:// or https:// URL"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # "[::1" (unclosed IPv6 bracket), port 99999
        return f"is not a valid URL ({str(exc).lower()})"
    if not parts.hostname:
        return "has no host name"
    return None if port is None or port > 0 else "has port 0"


def _check_http_url(value: SecretStr) -> SecretStr:
    problem = http_url_problem(value.get_secret_value())
    if problem:
        raise ValueError(problem)
    return value


SecretUrl = Annotated[SecretStr, AfterValidator(_check_http_url)]


def describe(kind: str, notifier_id: str) -> str:
    """How errors name a destination: by id, never by its (token-bearing) URL."""
    return f"{kind} notifier {notifier_id!r}"


def encode_json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


async def post(http: httpx.AsyncClient, url: str, *, content: bytes, what: str, timeout: float,
               headers: dict[str, str] | None = None, params: dict[str, str] | None = None) -> httpx.Response:
    """POST a JSON body with `request`."""
    target = str(httpx.URL(url).copy_merge_params(params)) if params else url
    return await request(http, "POST", target, content=content, what=what, timeout=timeout,
                         headers={"Content-Type": "application/json", **(headers or {})})


async def request(http: httpx.AsyncClient, method: str, url: str, *, content: bytes, what: str, timeout: float,
                  headers: dict[str, str]) -> httpx.Response:
    """Send a request and return the response read, its body decoded and capped at MAX_REPLY bytes (a compression
    bomb from a destination stops there, as a PermanentError). Network trouble and timeouts are TransientError.
    Messages name `what`, never the URL."""
    try:
        response, body = await send_capped(http, method, url, what=what, max_bytes=MAX_REPLY, timeout=timeout,
                                           content=content, headers=headers)
    # `from None`: the original exception carries the token-bearing URL in its request
    except PermanentError as exc:
        raise PermanentError(str(exc)) from None
    except TransientError as exc:
        raise TransientError(str(exc)) from None
    # the body is decoded already: without these headers, .text and .json() read it as it is
    kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in ("content-encoding",
                                                                                    "content-length")]
    return httpx.Response(response.status_code, headers=kept, content=body, request=response.request)


def detail(response: httpx.Response, limit: int = 200) -> str:
    """A short excerpt of an error body, for the operator, with anything that looks like a credential removed.

    Besides the usual patterns, every long path segment and query value of the request URL is scrubbed: a
    service that echoes the token it was given must not get it into our logs.
    """
    try:
        text = one_line(clean(response.text), 2000)
    except (UnicodeDecodeError, LookupError):
        return ""
    for part in _url_parts(response):
        text = text.replace(part, "***")
    return trim(redact(text), limit)


def _url_parts(response: httpx.Response) -> list[str]:
    try:
        url = response.request.url
    except RuntimeError:  # a response built without a request (tests)
        return []
    parts = [value for _, value in url.params.multi_items()] + url.path.split("/")
    return sorted({p for p in parts if len(p) >= 10}, key=len, reverse=True)


def check(response: httpx.Response, what: str) -> None:
    """monitor.http.raise_for_status, with the service's own error text in the message."""
    if response.status_code < 400:
        return
    extra = detail(response)
    raise_for_status(response, f"{what} [{extra}]" if extra else what)


def json_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
