"""Discord webhook: one embed per alert, `allowed_mentions: {parse: []}` so nothing in a post can ping.

Posts with `?wait=true`, so Discord reports real errors and returns the message id (else it answers 204 even
for messages it drops).
"""
from __future__ import annotations

from typing import Any, Literal

import httpx

from .. import registry
from ..errors import RateLimitedError
from ..http import parse_retry_after
from ..models import Alert, Delivery
from ..settings import Duration, NotifierConfig
from .base import SecretUrl, check, describe, encode_json, json_body, post
from .format import AlertView, escape_discord, one_line, trim_escaped, view

TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 3000   # of Discord's 4096: all embed text together must stay under 6000
FIELD_VALUE_LIMIT = 250
FOOTER_LIMIT = 200


class DiscordConfig(NotifierConfig):
    type: Literal["discord"]
    min_interval: Duration = 2.0  # Discord: 30 messages a minute per channel
    webhook_url: SecretUrl
    username: str | None = None


def embed(v: AlertView, published_at: str | None) -> dict[str, Any]:
    description = "\n\n".join(part for part in (
        trim_escaped(v.excerpt, DESCRIPTION_LIMIT - 1100, escape_discord),
        (f"**{v.reply_label}**\n" + trim_escaped(v.reply, 1000, escape_discord)) if v.reply else "",
    ) if part)
    out: dict[str, Any] = {
        "title": trim_escaped(f"{v.emoji} {v.title or v.heading}", TITLE_LIMIT, escape_discord),
        "description": description,
        "color": v.colour,
        "fields": [{"name": label, "value": trim_escaped(value, FIELD_VALUE_LIMIT, escape_discord),
                    "inline": label not in ("Why", "Author")}
                   for label, value in v.facts()],
        "footer": {"text": one_line(v.heading, FOOTER_LIMIT)},
    }
    if v.url:
        out["url"] = v.url
    if published_at:
        out["timestamp"] = published_at
    return out


def message(alert: Alert, username: str | None = None) -> dict[str, Any]:
    v = view(alert)
    published = alert.mention.post.published_at
    payload: dict[str, Any] = {"embeds": [embed(v, published.isoformat() if published else None)],
                               "allowed_mentions": {"parse": []}}
    if username:
        payload["username"] = one_line(username, 80)
    return payload


def retry_after(response: httpx.Response) -> float | None:
    """Discord's JSON `retry_after` (float seconds; once seen in ms), else the Retry-After header."""
    header = parse_retry_after(response.headers.get("Retry-After"))
    value = json_body(response).get("retry_after")
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        return header
    if value > 1000 and (header is None or value > header * 10):
        value = value / 1000.0
    return float(value)


class DiscordNotifier:
    def __init__(self, notifier_id: str, config: DiscordConfig, http: httpx.AsyncClient):
        self.id, self._config, self._http = notifier_id, config, http
        self._what = describe("discord", notifier_id)

    async def send(self, alert: Alert, idempotency_key: str) -> Delivery:
        response = await post(self._http, self._config.webhook_url.get_secret_value(), params={"wait": "true"},
                              content=encode_json(message(alert, self._config.username)), what=self._what,
                              timeout=self._config.timeout)
        if response.status_code == 429:  # also Cloudflare's HTML 429, which has only the header
            raise RateLimitedError(f"{self._what}: rate limited", retry_after(response))
        # 404 (10015 unknown webhook) is permanent; 401 (50027 invalid token) is an auth failure
        check(response, self._what)
        message_id = json_body(response).get("id") if response.status_code == 200 else None
        return Delivery(notifier_id=self.id, alert_id=alert.id, status_code=response.status_code,
                        remote_id=str(message_id) if message_id else None)


@registry.notifier("discord", DiscordConfig)
def make_discord(notifier_id: str, config: DiscordConfig, ctx: registry.PluginContext) -> DiscordNotifier:
    return DiscordNotifier(notifier_id, config, ctx.http)
