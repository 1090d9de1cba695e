"""Mattermost incoming webhook (Markdown `text`).

Mattermost notifies on plain `@channel`/`@all`/`@here`/`@user` and translates Slack-style `<!channel>` too, so
untrusted text has its Markdown escaped and every `@` and `<` followed by a word joiner. The text is cut well below
the 16,383-character post limit (above it Mattermost silently splits one alert into several posts).
"""
from __future__ import annotations

from typing import Any, Literal

import httpx

from .. import registry
from ..models import Alert, Delivery
from ..settings import Duration, NotifierConfig
from .base import SecretUrl, check, describe, encode_json, post
from .format import AlertView, fit
from .format import escape_mattermost as esc

MAX_CHARS = 16_000


class MattermostConfig(NotifierConfig):
    type: Literal["mattermost"]
    min_interval: Duration = 0.1  # Mattermost: 10 a second when rate limiting is on
    webhook_url: SecretUrl
    channel: str | None = None
    username: str | None = None
    icon_url: str | None = None


def _quote(text: str) -> str:
    return "> " + esc(text).replace("\n", "\n> ")


def markdown(v: AlertView) -> str:
    lines = [f"#### {v.emoji} {esc(v.heading)}"]
    if v.title:
        lines.append(f"**{esc(v.title)}**")
    if v.excerpt:
        lines += [_quote(v.excerpt), ""]
    lines += [f"**{label}:** {esc(value)}" for label, value in v.facts() if label != "Severity"]
    if v.url:
        # parentheses would end the link target early; everything else unsafe is already percent-encoded
        lines.append(f"[Open post]({v.url.replace('(', '%28').replace(')', '%29')})")
    if v.reply:
        lines += ["", f"**{v.reply_label}**", _quote(v.reply)]
    return "\n".join(lines)


def message(alert: Alert, config: MattermostConfig) -> dict[str, Any]:
    payload: dict[str, Any] = {"text": fit(alert, markdown, len, MAX_CHARS)}
    for key in ("channel", "username", "icon_url"):
        if getattr(config, key):
            payload[key] = getattr(config, key)
    return payload


class MattermostNotifier:
    def __init__(self, notifier_id: str, config: MattermostConfig, http: httpx.AsyncClient):
        self.id, self._config, self._http = notifier_id, config, http
        self._what = describe("mattermost", notifier_id)

    async def send(self, alert: Alert, idempotency_key: str) -> Delivery:
        response = await post(self._http, self._config.webhook_url.get_secret_value(),
                              content=encode_json(message(alert, self._config)), what=self._what,
                              timeout=self._config.timeout)
        check(response, self._what)
        return Delivery(notifier_id=self.id, alert_id=alert.id, status_code=response.status_code)


@registry.notifier("mattermost", MattermostConfig)
def make_mattermost(notifier_id: str, config: MattermostConfig, ctx: registry.PluginContext) -> MattermostNotifier:
    return MattermostNotifier(notifier_id, config, ctx.http)
