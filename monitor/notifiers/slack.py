"""Slack: an incoming webhook (`webhook_url`) or the Web API `chat.postMessage` (`token` + `channel`).

All untrusted text is escaped (`& < >`), so `<!channel>`, `<!here>`, `<@U123>` and `<url|label>` in a post are
shown, never acted on; link_names/parse are never set; unfurling is off so attacker links get no preview.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import httpx
from pydantic import SecretStr, model_validator

from .. import registry
from ..errors import AuthFailedError, PermanentError, RateLimitedError, TransientError
from ..http import parse_retry_after
from ..models import Alert, Delivery
from ..settings import Duration, NotifierConfig
from .base import SecretUrl, check, describe, encode_json, json_body, post
from .format import AlertView, escape_slack, one_line, trim_escaped, view

if TYPE_CHECKING:
    from ..acks.common import AckListener
    from ..store import Store

EXCERPT_LIMIT = 1500   # Slack answers msg_blocks_too_long far below its documented limits (~13k in all)
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
HEADER_LIMIT = 150

_AUTH_ERRORS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
                "no_permission", "missing_scope", "not_allowed_token_type", "ekm_access_denied"}
_TRANSIENT_ERRORS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout",
                     "team_added_to_org"}


class SlackConfig(NotifierConfig):
    type: Literal["slack"]
    min_interval: Duration = 1.0  # Slack allows about one message a second per webhook/channel
    webhook_url: SecretUrl | None = None
    token: SecretStr | None = None
    channel: str | None = None
    api_url: str = "https://slack.com/api"

    @model_validator(mode="after")
    def _one_way_to_post(self) -> SlackConfig:
        web_api = self.token is not None or self.channel is not None
        if self.webhook_url is not None and web_api:
            raise ValueError("give either webhook_url, or token and channel (Web API), not both")
        if self.webhook_url is None and (self.token is None or not self.channel):
            raise ValueError("needs webhook_url, or token and channel (Web API chat.postMessage)")
        return self


def blocks(v: AlertView) -> list[dict[str, Any]]:
    """Block Kit layout: header, quoted post, facts, link, drafted reply."""
    out: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": one_line(f"{v.emoji} {v.heading}", HEADER_LIMIT),
                                    "emoji": True}},
    ]
    post_text = _quoted(v.title, v.excerpt)
    if post_text:
        out.append(_mrkdwn_section(post_text))
    fields = [{"type": "mrkdwn", "text": f"*{label}*\n" + trim_escaped(value, FIELD_LIMIT - 40, escape_slack)}
              for label, value in v.facts()[:10]]
    out.append({"type": "section", "fields": fields})
    if v.url:
        out.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"<{v.url.replace('&', '&amp;')}|Open post>"}]})  # safe_url encoded <>|
    if v.reply:
        out.append(_mrkdwn_section(f"*{v.reply_label}*\n" + trim_escaped(v.reply, SECTION_LIMIT - 20, _quote)))
    return out


def fallback_text(v: AlertView) -> str:
    """The notification text (and what clients without Block Kit show)."""
    summary = v.title or v.excerpt
    return trim_escaped(f"{v.emoji} {v.heading}: {one_line(summary, 300)}", SECTION_LIMIT, escape_slack)


def _quoted(title: str, excerpt: str) -> str:
    title_part = f"*{trim_escaped(title, 300, escape_slack)}*" if title else ""
    if not excerpt:
        return title_part
    quoted = trim_escaped(excerpt, SECTION_LIMIT - len(title_part) - 1, _quote)
    return f"{title_part}\n{quoted}" if title_part else quoted


def _quote(text: str) -> str:
    """Escaped, as a mrkdwn block quote (a literal `>` is safe: any `>` in the text is already `&gt;`)."""
    return ">" + escape_slack(text).replace("\n", "\n>")


def _mrkdwn_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def message(alert: Alert) -> dict[str, Any]:
    v = view(alert, excerpt_limit=EXCERPT_LIMIT)
    return {"text": fallback_text(v), "blocks": blocks(v), "unfurl_links": False, "unfurl_media": False}


class SlackWebhookNotifier:
    def __init__(self, notifier_id: str, config: SlackConfig, http: httpx.AsyncClient):
        self.id, self._config, self._http = notifier_id, config, http
        self._what = describe("slack", notifier_id)

    async def send(self, alert: Alert, idempotency_key: str) -> Delivery:
        assert self._config.webhook_url is not None
        response = await post(self._http, self._config.webhook_url.get_secret_value(),
                              content=encode_json(message(alert)), what=self._what, timeout=self._config.timeout)
        # 404 no_service / channel_not_found and 410 channel_is_archived are permanent; 403 is an auth failure
        check(response, self._what)
        return Delivery(notifier_id=self.id, alert_id=alert.id, status_code=response.status_code)


class SlackApiNotifier:
    def __init__(self, notifier_id: str, config: SlackConfig, http: httpx.AsyncClient):
        self.id, self._config, self._http = notifier_id, config, http
        self._what = describe("slack", notifier_id)

    async def send(self, alert: Alert, idempotency_key: str) -> Delivery:
        assert self._config.token is not None and self._config.channel
        payload = {**message(alert), "channel": self._config.channel,
                   "metadata": {"event_type": "brand_alert",
                                "event_payload": {"alert_id": alert.id, "idempotency_key": idempotency_key}}}
        if alert.thread_parent:  # an incident's update goes into the thread of its first notice
            payload["thread_ts"] = alert.thread_parent
        response = await post(self._http, self._config.api_url.rstrip("/") + "/chat.postMessage",
                              content=encode_json(payload), what=self._what, timeout=self._config.timeout,
                              headers={"Authorization": f"Bearer {self._config.token.get_secret_value()}",
                                       "Content-Type": "application/json; charset=utf-8"})
        body = json_body(response)
        if response.status_code == 429 or body.get("error") == "ratelimited":
            raise RateLimitedError(f"{self._what}: rate limited",
                                   parse_retry_after(response.headers.get("Retry-After")))
        check(response, self._what)
        if body.get("ok") is not True:
            raise api_error(self._what, str(body.get("error") or "unexpected reply"))
        return Delivery(notifier_id=self.id, alert_id=alert.id, status_code=response.status_code,
                        remote_id=str(body.get("ts")) if body.get("ts") else None)


def api_error(what: str, code: str) -> Exception:
    """Slack's Web API answers 200 `{"ok": false, "error": code}`; the code decides the kind."""
    message = f"{what}: Slack API error {one_line(code, 80)}"
    if code in _AUTH_ERRORS:
        return AuthFailedError(message)
    if code in _TRANSIENT_ERRORS:
        return TransientError(message)
    return PermanentError(message)


def slack_ack_listener(notifier_id: str, config: SlackConfig, ctx: registry.PluginContext,
                       store: Store) -> AckListener | None:
    """Reactions acknowledge, in Web API mode only: an incoming webhook cannot read anything back."""
    if config.token is None or not config.channel:
        return None
    from ..acks.slack import SlackAckListener  # here, not at the top: that module imports this one
    return SlackAckListener(notifier_id, config, ctx.http, store)


@registry.notifier("slack", SlackConfig, ack_listener=slack_ack_listener)
def make_slack(notifier_id: str, config: SlackConfig,
               ctx: registry.PluginContext) -> SlackWebhookNotifier | SlackApiNotifier:
    if config.webhook_url is not None:
        return SlackWebhookNotifier(notifier_id, config, ctx.http)
    return SlackApiNotifier(notifier_id, config, ctx.http)
