"""Generic signed JSON webhook (Standard Webhooks headers).

Receivers dedupe on `webhook-id` (= the idempotency key, stable across retries of one alert to one destination)
and verify `webhook-signature: v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>`.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import time
from collections.abc import Callable
from typing import Any, Literal

import httpx
from pydantic import SecretStr, field_validator

from .. import registry
from ..models import Alert, Delivery
from ..settings import NotifierConfig
from .base import SecretUrl, check, describe, encode_json, post
from .format import clean, trim

MAX_TEXT = 20_000
_RESERVED_HEADERS = {"content-type", "content-length", "idempotency-key", "webhook-id", "webhook-timestamp",
                     "webhook-signature", "host"}


# --- the generic webhook ---------------------------------------------------------------------------------------

class WebhookConfig(NotifierConfig):
    type: Literal["webhook"]
    url: SecretUrl
    secret: SecretStr | None = None
    headers: dict[str, str] = {}

    @field_validator("secret")
    @classmethod
    def _secret_decodes(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            signing_key(value)
        return value

    @field_validator("headers")
    @classmethod
    def _no_reserved_headers(cls, value: dict[str, str]) -> dict[str, str]:
        clash = sorted(name for name in value if name.lower() in _RESERVED_HEADERS)
        if clash:
            raise ValueError(f"these headers are set by brand-monitor and cannot be overridden: {', '.join(clash)}")
        return value


def signing_key(secret: SecretStr) -> bytes:
    """`whsec_<base64>` (the Standard Webhooks form) decodes to its bytes; any other string is used as UTF-8."""
    raw = secret.get_secret_value()
    if not raw:
        raise ValueError("must not be empty")
    if raw.startswith("whsec_"):
        try:
            return base64.b64decode(raw.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            raise ValueError("whsec_ secrets must be base64 after the prefix") from None
    return raw.encode("utf-8")


def sign(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def alert_payload(alert: Alert) -> dict[str, Any]:
    m, a, post_ = alert.mention, alert.assessment, alert.mention.post
    text = trim(clean(post_.text), MAX_TEXT)  # no ESC/BEL/NUL or bidi overrides reach the receiver
    return {
        "type": "brand_mention.alert",
        "id": alert.id,
        "created_at": alert.created_at.isoformat(),
        "data": {
            "brand": m.brand, "competitor": m.competitor, "severity": a.severity, "sentiment": a.sentiment,
            "sentiment_score": a.sentiment_score, "category": a.category, "issue": a.issue, "urgent": a.urgent,
            "judged_by": a.judged_by, "language": a.language,
            "reasons": list(a.reasons),
            "matches": [{"term": x.term, "kind": x.kind, "score": x.score, "start": x.start, "end": x.end}
                        for x in m.matches],
            "post": {
                "url": post_.url, "title": trim(clean(post_.title), 1000), "text": text,
                "text_html_escaped": html.escape(text, quote=True),
                "author": {"handle": clean(post_.author.handle), "display_name": clean(post_.author.display_name),
                           "followers": post_.author.followers},
                "published_at": post_.published_at.isoformat() if post_.published_at else None,
                "platform": post_.platform, "source_id": post_.source_id,
                "engagement": {"likes": post_.engagement.likes, "reposts": post_.engagement.reposts,
                               "replies": post_.engagement.replies},
            },
            "respond_by": alert.respond_by.isoformat() if alert.respond_by else None,
            "reply": clean(alert.reply),
            "routes": list(alert.routes),
            "ack_url": alert.ack_url or None,
        },
    }


class WebhookNotifier:
    def __init__(self, notifier_id: str, config: WebhookConfig, http: httpx.AsyncClient,
                 clock: Callable[[], float] = time.time):
        self.id, self._config, self._http, self._clock = notifier_id, config, http, clock
        self._key = signing_key(config.secret) if config.secret else None
        self._what = describe("webhook", notifier_id)

    async def send(self, alert: Alert, idempotency_key: str) -> Delivery:
        body = encode_json(alert_payload(alert))
        timestamp = str(int(self._clock()))
        headers = {**self._config.headers, "Idempotency-Key": idempotency_key, "webhook-id": idempotency_key,
                   "webhook-timestamp": timestamp}
        if self._key is not None:
            headers["webhook-signature"] = sign(self._key, idempotency_key, timestamp, body)
        response = await post(self._http, self._config.url.get_secret_value(), content=body, headers=headers,
                              what=self._what, timeout=self._config.timeout)
        check(response, self._what)
        return Delivery(notifier_id=self.id, alert_id=alert.id, status_code=response.status_code)


@registry.notifier("webhook", WebhookConfig)
def make_webhook(notifier_id: str, config: WebhookConfig, ctx: registry.PluginContext) -> WebhookNotifier:
    return WebhookNotifier(notifier_id, config, ctx.http)

