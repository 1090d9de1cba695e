"""Telegram Bot API `sendMessage` with parse_mode=HTML, an "Open post" URL button and an "Acknowledge" button.

Every untrusted string is HTML-escaped (an unescaped `<` makes Telegram reject the whole message) and `@` is
followed by a word joiner so `@username` notifies nobody. The text is kept within 4096 characters as Telegram
counts them (UTF-16 code units, after entity parsing).
"""
from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import httpx
from pydantic import SecretStr, field_validator

from .. import registry
from ..errors import AuthFailedError, PermanentError, RateLimitedError
from ..http import parse_retry_after, raise_for_status
from ..models import Alert, Delivery
from ..settings import Duration, NotifierConfig
from .base import describe, encode_json, json_body, post
from .format import BUDGETS, AlertView, fit, one_line, safe_url
from .format import escape_telegram_html as esc

if TYPE_CHECKING:
    from ..acks.common import AckListener
    from ..store import Store

MAX_CHARS = 4096
ACK_PREFIX = "ack:"          # callback_data of the Acknowledge button: "ack:<alert id>" (monitor.acks reads it)
MAX_CALLBACK_DATA = 64       # bytes, Telegram's limit
_TAG = re.compile(r"<[^>]*>")


class TelegramConfig(NotifierConfig):
    type: Literal["telegram"]
    min_interval: Duration = 3.0  # Telegram: 20 messages a minute per group
    token: SecretStr
    chat_id: int | str
    api_url: str = "https://api.telegram.org"
    silent: bool = False

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if not raw or any(ch.isspace() or ch in "/?#" for ch in raw):
            raise ValueError("must be a bot token as given by @BotFather (123456:ABC…)")
        return value


def html_text(v: AlertView) -> str:
    lines = [f"<b>{esc(v.emoji + ' ' + v.heading)}</b>"]
    if v.title:
        lines.append(f"<b>{esc(v.title)}</b>")
    if v.excerpt:
        lines.append(f"<blockquote>{esc(v.excerpt)}</blockquote>")
    lines += [f"<b>{label}:</b> {esc(value)}" for label, value in v.facts() if label != "Severity"]
    if v.reply:
        lines += ["", f"<b>{v.reply_label}</b>", f"<i>{esc(v.reply)}</i>"]
    return "\n".join(lines)


def visible_length(html_message: str) -> int:
    """Length as Telegram counts it: tags removed, entities decoded, in UTF-16 code units."""
    return len(html.unescape(_TAG.sub("", html_message)).encode("utf-16-le")) // 2


def message(alert: Alert, chat_id: int | str, silent: bool = False) -> dict[str, Any]:
    text = fit(alert, html_text, visible_length, MAX_CHARS, budgets=((2500, 800), *BUDGETS[1:]))
    payload: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": "HTML",
                               "link_preview_options": {"is_disabled": True}, "disable_notification": silent}
    buttons: list[dict[str, str]] = []
    url = safe_url(alert.mention.post.url)
    if url:
        buttons.append({"text": "Open post", "url": url})
    data = ack_callback_data(alert.id)
    if data:
        buttons.append({"text": "✅ Acknowledge", "callback_data": data})
    if buttons:
        payload["reply_markup"] = {"inline_keyboard": [buttons]}
    return payload


def ack_callback_data(alert_id: str) -> str | None:
    """The Acknowledge button's data; None for a digest (it stands for many alerts) or an id too long for it."""
    data = ACK_PREFIX + alert_id
    if alert_id.startswith("digest-") or len(data.encode("utf-8")) > MAX_CALLBACK_DATA:
        return None
    return data


class TelegramNotifier:
    def __init__(self, notifier_id: str, config: TelegramConfig, http: httpx.AsyncClient):
        self.id, self._config, self._http = notifier_id, config, http
        self._what = describe("telegram", notifier_id)

    async def send(self, alert: Alert, idempotency_key: str) -> Delivery:
        url = f"{self._config.api_url.rstrip('/')}/bot{self._config.token.get_secret_value()}/sendMessage"
        payload = message(alert, self._config.chat_id, self._config.silent)
        response = await post(self._http, url, content=encode_json(payload), what=self._what,
                              timeout=self._config.timeout)
        body = json_body(response)
        if response.status_code == 200 and body.get("ok") is True:
            message_id = (body.get("result") or {}).get("message_id")
            return Delivery(notifier_id=self.id, alert_id=alert.id, status_code=200,
                            remote_id=str(message_id) if message_id is not None else None)
        raise_error(self._what, response, body)


def raise_error(what: str, response: httpx.Response, body: dict[str, Any]) -> NoReturn:
    """Telegram's status equals `error_code`; 429 says how long to wait in `parameters.retry_after`."""
    description = one_line(str(body.get("description") or ""), 200)
    raw_parameters = body.get("parameters")
    parameters: dict[str, Any] = raw_parameters if isinstance(raw_parameters, dict) else {}
    where = f"{what} [{description}]" if description else what
    if response.status_code == 429:
        wait = parameters.get("retry_after")
        seconds = float(wait) if isinstance(wait, (int, float)) and wait >= 0 else \
            parse_retry_after(response.headers.get("Retry-After"))
        raise RateLimitedError(f"{where}: HTTP 429", seconds)
    if "migrate_to_chat_id" in parameters:
        raise PermanentError(f"{what}: the group became a supergroup; set chat_id to "
                             f"{one_line(str(parameters['migrate_to_chat_id']), 30)}")
    if response.status_code == 404:  # Telegram's answer to a malformed or unknown token
        raise AuthFailedError(f"{where}: HTTP 404 (is the bot token right?)")
    raise_for_status(response, where)
    raise PermanentError(f"{where}: unexpected reply (HTTP {response.status_code})")


def telegram_ack_listener(notifier_id: str, config: TelegramConfig, ctx: registry.PluginContext,
                          store: Store) -> AckListener:
    """Presses of the Acknowledge button, read with getUpdates."""
    from ..acks.telegram import TelegramAckListener  # here, not at the top: that module imports this one
    return TelegramAckListener(notifier_id, config, ctx.http, store)


@registry.notifier("telegram", TelegramConfig, ack_listener=telegram_ack_listener)
def make_telegram(notifier_id: str, config: TelegramConfig, ctx: registry.PluginContext) -> TelegramNotifier:
    return TelegramNotifier(notifier_id, config, ctx.http)
