"""Telegram sendMessage against a contract fake that parses the HTML as strictly as Telegram does."""
from __future__ import annotations

import dataclasses
import json

import pytest
from pydantic import ValidationError
from werkzeug import Request, Response

from monitor.errors import AuthFailedError, PermanentError, RateLimitedError, TransientError
from monitor.notifiers.telegram import TelegramConfig, ack_callback_data, make_telegram
from tests.notifiers.notifier_fakes import TelegramBot, assert_no_secret, surviving_tokens, telegram_parse, with_post

TOKEN = "123456789:AAHsecretTOKENvalue_abcdefghijk"


class TelegramBotWithCallbacks(TelegramBot):
    """The shared fake, plus Telegram's rule for callback buttons (exactly one of url / callback_data per button,
    callback_data 1-64 bytes); the callback buttons are then taken out before the shared fake's URL check."""

    def handle(self, request: Request, body: dict) -> Response:
        rows = body.get("reply_markup", {}).get("inline_keyboard", [])
        for button in (b for row in rows for b in row):
            if ("url" in button) == ("callback_data" in button):
                return self.error(400, "Bad Request: can't parse inline keyboard button")
            if "callback_data" in button and not 1 <= len(button["callback_data"].encode()) <= 64:
                return self.error(400, "Bad Request: BUTTON_DATA_INVALID")
        links = [[b for b in row if "url" in b] for row in rows]
        stripped = json.loads(json.dumps(body))
        if rows:
            stripped["reply_markup"]["inline_keyboard"] = [row for row in links if row]
        return super().handle(request, stripped)


@pytest.fixture
def bot(httpserver):
    fake = TelegramBotWithCallbacks(TOKEN)
    httpserver.expect_request(f"/bot{TOKEN}/sendMessage", method="POST").respond_with_handler(fake)
    return fake


def notifier(httpserver, ctx, token=TOKEN):
    config = TelegramConfig.model_validate({"type": "telegram", "token": token, "chat_id": -1001234567890,
                                            "api_url": httpserver.url_for("/")})
    return make_telegram("tg", config, ctx)


async def test_sends_html_with_open_post_and_acknowledge_buttons(httpserver, bot, ctx, alert):
    delivery = await notifier(httpserver, ctx).send(alert, "k")
    assert delivery.status_code == 200 and delivery.remote_id == "1"
    body = bot.bodies[0]
    assert body["chat_id"] == -1001234567890 and body["parse_mode"] == "HTML"
    assert body["link_preview_options"] == {"is_disabled": True}
    assert body["reply_markup"] == {"inline_keyboard": [[
        {"text": "Open post", "url": "https://example.com/posts/1"},
        {"text": "✅ Acknowledge", "callback_data": "ack:test-notify-sample"}]]}
    assert body["text"].startswith("<b>🔴 High · Acme · outage · urgent</b>")
    assert "&lt;!channel&gt;" in body["text"]


async def test_hostile_text_parses_and_pings_nobody(httpserver, bot, ctx, hostile_alert):
    delivery = await notifier(httpserver, ctx).send(hostile_alert, "k")
    assert delivery.status_code == 200  # an unescaped < would be 400 "can't parse entities"
    visible = telegram_parse(bot.bodies[0]["text"])
    assert "<at>x</at>" in visible and surviving_tokens(visible.replace("<", "")) == []
    assert "@everyone" not in visible and "@\u2060everyone" in visible


async def test_over_long_text_is_cut_to_4096_utf16_units(httpserver, bot, ctx, long_alert):
    delivery = await notifier(httpserver, ctx).send(long_alert, "k")
    assert delivery.status_code == 200
    visible = telegram_parse(bot.bodies[0]["text"])
    assert 2000 < len(visible.encode("utf-16-le")) // 2 <= 4096 and "…" in visible


async def test_no_link_button_for_a_non_http_link(httpserver, bot, ctx, alert):
    await notifier(httpserver, ctx).send(with_post(alert, url="javascript:alert(1)"), "k")
    assert bot.bodies[0]["reply_markup"] == {"inline_keyboard": [
        [{"text": "✅ Acknowledge", "callback_data": "ack:test-notify-sample"}]]}


async def test_no_buttons_for_a_digest_without_a_link(httpserver, bot, ctx, alert):
    digest = dataclasses.replace(with_post(alert, url=""), id="digest-0123456789abcdef0123")
    delivery = await notifier(httpserver, ctx).send(digest, "k")
    assert delivery.status_code == 200 and "reply_markup" not in bot.bodies[0]


@pytest.mark.parametrize("alert_id, data", [
    ("0123456789abcdef0123", "ack:0123456789abcdef0123"),
    ("x" * 60, "ack:" + "x" * 60),            # 64 bytes: Telegram's limit
    ("x" * 61, None),
    ("digest-0123456789abcdef0123", None),    # a digest stands for many alerts
])
def test_ack_callback_data(alert_id, data):
    assert ack_callback_data(alert_id) == data


@pytest.mark.parametrize("status, body, kind, retry_after", [
    (429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 35",
           "parameters": {"retry_after": 35}}, RateLimitedError, 35.0),
    (401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, AuthFailedError, None),
    (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
     AuthFailedError, None),
    (404, {"ok": False, "error_code": 404, "description": "Not Found"}, AuthFailedError, None),
    (400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}, PermanentError, None),
    (400, {"ok": False, "error_code": 400, "description": "Bad Request: group chat was upgraded to a supergroup chat",
           "parameters": {"migrate_to_chat_id": -1009876543210}}, PermanentError, None),
    (502, "<html>Bad Gateway</html>", TransientError, None),
])
async def test_errors_map_to_kinds(httpserver, bot, ctx, alert, status, body, kind, retry_after):
    bot.fail(status, body)
    with pytest.raises(kind) as info:
        await notifier(httpserver, ctx).send(alert, "k")
    assert type(info.value) is kind and getattr(info.value, "retry_after", None) == retry_after
    if isinstance(body, dict) and "migrate_to_chat_id" in body.get("parameters", {}):
        assert "-1009876543210" in str(info.value)
    assert_no_secret(info.value, TOKEN, "AAHsecretTOKENvalue")


async def test_wrong_token_is_auth_failed_without_leaking_it(httpserver, bot, ctx, alert):
    httpserver.expect_request("/bot999:WRONGsecretTOKEN/sendMessage").respond_with_json(
        {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
    with pytest.raises(AuthFailedError) as info:
        await notifier(httpserver, ctx, token="999:WRONGsecretTOKEN").send(alert, "k")
    assert_no_secret(info.value, "WRONGsecretTOKEN")


async def test_timeout_is_transient(ctx, alert, silent_url):
    config = TelegramConfig.model_validate({"type": "telegram", "token": TOKEN, "chat_id": 1, "api_url": silent_url,
                                            "timeout": "150ms"})
    with pytest.raises(TransientError) as info:
        await make_telegram("tg", config, ctx).send(alert, "k")
    assert_no_secret(info.value, TOKEN)


def test_token_with_a_slash_is_refused():
    with pytest.raises(ValidationError):
        TelegramConfig.model_validate({"type": "telegram", "token": "1:abc/../x", "chat_id": 1})
