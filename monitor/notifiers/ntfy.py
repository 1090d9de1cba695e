"""ntfy: publish as JSON to the server root (untrusted text never enters an HTTP header), Markdown off.

ntfy answers 429 without Retry-After and refills one request per 5 s, so a 429 means "not before 5 s".
"""
from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import Field, SecretStr

from .. import registry
from ..errors import RateLimitedError
from ..http import parse_retry_after
from ..models import Alert, Delivery
from ..settings import Duration, NotifierConfig
from .base import check, describe, encode_json, json_body, post
from .format import AlertView, fit, one_line, plain_text

MAX_MESSAGE_BYTES = 4096
REFILL_SECONDS = 5.0
PRIORITY = {"critical": 5, "high": 4, "medium": 3, "low": 2}
TAG = {"critical": "rotating_light", "high": "red_circle", "medium": "orange_circle", "low": "large_blue_circle"}


class NtfyConfig(NotifierConfig):
    type: Literal["ntfy"]
    min_interval: Duration = 0.5  # ntfy: a bucket of 60, refilled one every 5 s
    topic: str = Field(pattern=r"^[-_A-Za-z0-9]{1,64}$")
    server: str = Field(default="https://ntfy.sh", pattern=r"^https?://\S+$")
    token: SecretStr | None = None


def body_text(v: AlertView) -> str:
    """The plain rendering without its first line, which becomes the notification title."""
    return plain_text(v).split("\n", 1)[-1].strip()


def message(alert: Alert, topic: str) -> dict[str, Any]:
    v_text = fit(alert, lambda v: (v, body_text(v)), lambda pair: len(pair[1].encode("utf-8")), MAX_MESSAGE_BYTES)
    v, text = v_text
    payload: dict[str, Any] = {"topic": topic, "title": one_line(f"{v.emoji} {v.heading}", 200), "message": text,
                               "priority": PRIORITY.get(v.severity, 3), "tags": [TAG.get(v.severity, "bell")],
                               "markdown": False}
    if v.url:
        payload["click"] = v.url
    return payload


class NtfyNotifier:
    def __init__(self, notifier_id: str, config: NtfyConfig, http: httpx.AsyncClient):
        self.id, self._config, self._http = notifier_id, config, http
        self._what = describe("ntfy", notifier_id)

    async def send(self, alert: Alert, idempotency_key: str) -> Delivery:
        headers = {"Authorization": f"Bearer {self._config.token.get_secret_value()}"} if self._config.token else {}
        response = await post(self._http, self._config.server.rstrip("/") + "/", headers=headers,
                              content=encode_json(message(alert, self._config.topic)), what=self._what,
                              timeout=self._config.timeout)
        if response.status_code == 429:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            raise RateLimitedError(f"{self._what}: HTTP 429 rate limited", max(wait or 0.0, REFILL_SECONDS))
        check(response, self._what)
        message_id = json_body(response).get("id")
        return Delivery(notifier_id=self.id, alert_id=alert.id, status_code=response.status_code,
                        remote_id=str(message_id) if message_id else None)


@registry.notifier("ntfy", NtfyConfig)
def make_ntfy(notifier_id: str, config: NtfyConfig, ctx: registry.PluginContext) -> NtfyNotifier:
    return NtfyNotifier(notifier_id, config, ctx.http)
