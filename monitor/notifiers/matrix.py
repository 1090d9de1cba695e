"""Matrix: one `m.room.message` per alert via the client-server API, exactly once per idempotency key.

`PUT /_matrix/client/v3/rooms/{roomId}/send/m.room.message/{txnId}`: the homeserver treats a repeat of the same
txnId from the same device (access token) as a retransmission and returns the original event_id, so a retry after
a timeout never posts twice. `"m.mentions": {}` tells the server that the message mentions nobody: `@room` or a
user id inside a customer's post pings no one.
"""
from __future__ import annotations

import hashlib
import html
import json
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

import httpx
import structlog
from pydantic import SecretStr, field_validator

from .. import registry
from ..errors import AuthFailedError, PermanentError, RateLimitedError, TransientError
from ..http import MAX_RETRY_AFTER, parse_retry_after, raise_for_status, redact
from ..models import Alert, Delivery
from ..settings import Duration, NotifierConfig
from .base import http_url_problem, request
from .format import BUDGETS, AlertView, clean, fit, one_line, plain_text

if TYPE_CHECKING:
    from ..acks.common import AckListener
    from ..store import Store

log = structlog.get_logger()

MAX_EVENT_BYTES = 65_536          # spec limit for a whole event, envelope (ids, hashes, signatures) included
CONTENT_BUDGET = 60_000           # what our content may take, leaving room for that envelope
_AUTH_ERRCODES = {"M_UNKNOWN_TOKEN", "M_MISSING_TOKEN", "M_FORBIDDEN", "M_USER_DEACTIVATED", "M_USER_LOCKED"}


class MatrixConfig(NotifierConfig):
    type: Literal["matrix"]
    min_interval: Duration = 0.5  # Synapse's default: 0.2 messages/s with bursts of 10
    homeserver: str
    access_token: SecretStr
    room_id: str
    msgtype: Literal["m.notice", "m.text"] = "m.notice"

    @field_validator("homeserver")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if http_url_problem(value):
            raise ValueError("must be the homeserver's base URL, e.g. https://matrix.example.org")
        return value

    @field_validator("room_id")
    @classmethod
    def _room_id(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith("!") or len(value) > 255 or any(ch.isspace() for ch in value):
            raise ValueError("must be a room ID such as '!AbCdEf…' (Room settings > Advanced), not an alias")
        return value


def txn_id(idempotency_key: str) -> str:
    """Stable, URL-safe transaction id: the same key always names the same transaction."""
    return "bm-" + hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]


def neutralise_room_ping(text: str) -> str:
    """Servers older than intentional mentions (spec v1.7) still ping on a literal `@room` in the body."""
    return text.replace("@room", "@\u2060room")


def html_body(v: AlertView) -> str:
    """org.matrix.custom.html with every untrusted piece escaped; only tags the spec allows."""
    def esc(text: str) -> str:
        return html.escape(text, quote=True).replace("\n", "<br/>")

    parts = [f"<b>{esc(v.emoji)} {esc(v.heading)}</b>"]
    if v.title:
        parts.append(f"<br/><b>{esc(v.title)}</b>")
    if v.excerpt:
        parts.append(f"<blockquote>{esc(v.excerpt)}</blockquote>")
    facts = "".join(f"<li><b>{esc(label)}:</b> {esc(value)}</li>" for label, value in v.facts() if label != "Severity")
    parts.append(f"<ul>{facts}</ul>")
    if v.url:
        parts.append(f'<a href="{esc(v.url)}">Open the post</a>')
    if v.reply:
        parts.append(f"<p><b>{v.reply_label}:</b><br/>{esc(v.reply)}</p>")
    return "".join(parts)


def message_content(v: AlertView, msgtype: str) -> dict[str, Any]:
    return {"msgtype": msgtype, "body": neutralise_room_ping(plain_text(v)), "format": "org.matrix.custom.html",
            "formatted_body": html_body(v), "m.mentions": {}}


def encoded_size(content: dict[str, Any]) -> int:
    """Bytes the content takes in the event's canonical JSON (UTF-8, not ASCII-escaped)."""
    return len(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


class MatrixNotifier:
    # (excerpt, reply) character budgets tried largest first, and the byte budget they must fit; instance
    # attributes so a test can provoke a real 413 from the server
    budgets = BUDGETS
    content_budget = CONTENT_BUDGET

    def __init__(self, notifier_id: str, config: MatrixConfig, http: httpx.AsyncClient):
        self.id, self._config, self._http = notifier_id, config, http
        self._what = f"matrix notifier {notifier_id!r}"

    async def send(self, alert: Alert, idempotency_key: str) -> Delivery:
        txn = txn_id(idempotency_key)
        content = self._content(alert, self.budgets)
        response = await self._put(txn, content)
        if response.status_code == 413:
            # The server's limit is smaller than the spec's: cut hard and send again under the same txnId
            # (an error is never cached as the transaction's result).
            log.warning("matrix_message_too_large", notifier_id=self.id, alert_id=alert.id,
                        content_bytes=encoded_size(content))
            content = self._content(alert, self.budgets[-1:])
            response = await self._put(txn, content)
        event_id = self._event_id(response)
        return Delivery(notifier_id=self.id, alert_id=alert.id, status_code=response.status_code, remote_id=event_id)

    def _content(self, alert: Alert, budgets: tuple[tuple[int, int], ...]) -> dict[str, Any]:
        def render(v: AlertView) -> dict[str, Any]:
            return message_content(v, self._config.msgtype)
        return fit(alert, render, encoded_size, self.content_budget, budgets)

    async def _put(self, txn: str, content: dict[str, Any]) -> httpx.Response:
        room = quote(self._config.room_id, safe="")
        url = f"{self._config.homeserver}/_matrix/client/v3/rooms/{room}/send/m.room.message/{txn}"
        headers = {"Authorization": f"Bearer {self._config.access_token.get_secret_value()}",
                   "Content-Type": "application/json"}
        body = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return await request(self._http, "PUT", url, content=body, what=self._what, timeout=self._config.timeout,
                             headers=headers)

    def _event_id(self, response: httpx.Response) -> str:
        body = _json(response)
        if response.status_code == 200:
            event_id = body.get("event_id")
            if isinstance(event_id, str) and event_id:
                return event_id
            # accepted or not, a resend under the same txnId is safe
            raise TransientError(f"{self._what}: HTTP 200 without an event_id")
        raise error_for(response, body, self._what)


def error_for(response: httpx.Response, body: dict[str, Any], what: str) -> Exception:
    """The error kind for a Matrix error response (`{"errcode": "M_…", "error": "…"}`)."""
    status, errcode = response.status_code, str(body.get("errcode", ""))
    message = f"{what}: HTTP {status}"
    if errcode:
        message += f" {one_line(clean(errcode), 40)}: {redact(one_line(clean(str(body.get('error', ''))), 200))}"
    if status == 429 or errcode == "M_LIMIT_EXCEEDED":
        return RateLimitedError(message, retry_after(response, body))
    if status in (401, 403) or errcode in _AUTH_ERRCODES:
        return AuthFailedError(message)
    if status == 413 or errcode == "M_TOO_LARGE":
        return PermanentError(message)
    try:
        raise_for_status(response, message)
    except (TransientError, PermanentError) as exc:
        return exc
    return TransientError(message)  # a non-error status other than 200 (e.g. a 3xx not followed)


def retry_after(response: httpx.Response, body: dict[str, Any]) -> float | None:
    """Seconds from `Retry-After` (what the spec prefers since v1.10), else the deprecated `retry_after_ms`."""
    seconds = parse_retry_after(response.headers.get("Retry-After"))
    if seconds is not None:
        return seconds
    ms = body.get("retry_after_ms")
    if isinstance(ms, (int, float)) and not isinstance(ms, bool) and ms >= 0:
        return min(ms / 1000.0, MAX_RETRY_AFTER)
    return None


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def matrix_ack_listener(notifier_id: str, config: MatrixConfig, ctx: registry.PluginContext,
                        store: Store) -> AckListener:
    """Reactions to the alert messages, read with /sync."""
    from ..acks.matrix import MatrixAckListener  # here, not at the top: that module imports this one
    return MatrixAckListener(notifier_id, config, ctx.http, store)


@registry.notifier("matrix", MatrixConfig, ack_listener=matrix_ack_listener)
def make_matrix(notifier_id: str, config: MatrixConfig, ctx: registry.PluginContext) -> MatrixNotifier:
    return MatrixNotifier(notifier_id, config, ctx.http)
