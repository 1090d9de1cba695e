"""Google Chat incoming webhook (`text` message).

`requestId` and `messageId` are derived from the idempotency key, so a retry of a message Google already has
returns (or conflicts with) the first one instead of posting twice. Untrusted `<` is followed by a word joiner:
`<users/all>` and `<url|label>` in a post stay text.
"""
from __future__ import annotations

import hashlib
from typing import Literal

import httpx

from .. import registry
from ..models import Alert, Delivery
from ..settings import Duration, NotifierConfig
from .base import SecretUrl, check, describe, encode_json, json_body, post
from .format import AlertView, fit
from .format import escape_google_chat as esc

MAX_BYTES = 30_000  # of Google's 32,000 per message


class GoogleChatConfig(NotifierConfig):
    type: Literal["google_chat"]
    min_interval: Duration = 1.0  # Google Chat: about one write a second per space
    webhook_url: SecretUrl


def text(v: AlertView) -> str:
    lines = [f"{v.emoji} *{esc(v.heading)}*"]
    if v.title:
        lines.append(f"*{esc(v.title)}*")
    if v.excerpt:
        lines += [esc(v.excerpt), ""]
    lines += [f"*{label}:* {esc(value)}" for label, value in v.facts() if label != "Severity"]
    if v.url:
        lines.append(f"<{v.url}|Open post>")  # safe_url percent-encoded any `|` and `>`
    if v.reply:
        lines += ["", f"*{v.reply_label}*", esc(v.reply)]
    return "\n".join(lines)


def dedup_params(idempotency_key: str) -> dict[str, str]:
    """requestId: any string; messageId: `client-` + lowercase letters/digits/hyphens, 63 characters at most."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()
    return {"requestId": digest, "messageId": "client-" + digest[:56]}


class GoogleChatNotifier:
    def __init__(self, notifier_id: str, config: GoogleChatConfig, http: httpx.AsyncClient):
        self.id, self._config, self._http = notifier_id, config, http
        self._what = describe("google_chat", notifier_id)

    async def send(self, alert: Alert, idempotency_key: str) -> Delivery:
        body = fit(alert, lambda v: encode_json({"text": text(v)}), len, MAX_BYTES)
        response = await post(self._http, self._config.webhook_url.get_secret_value(), content=body,
                              params=dedup_params(idempotency_key), what=self._what, timeout=self._config.timeout)
        if response.status_code == 409:  # ALREADY_EXISTS: this messageId was posted by an earlier attempt
            return Delivery(notifier_id=self.id, alert_id=alert.id, status_code=409)
        check(response, self._what)
        name = json_body(response).get("name")
        return Delivery(notifier_id=self.id, alert_id=alert.id, status_code=response.status_code,
                        remote_id=str(name) if name else None)


@registry.notifier("google_chat", GoogleChatConfig)
def make_google_chat(notifier_id: str, config: GoogleChatConfig, ctx: registry.PluginContext) -> GoogleChatNotifier:
    return GoogleChatNotifier(notifier_id, config, ctx.http)
