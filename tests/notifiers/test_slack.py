"""Slack incoming webhook and chat.postMessage against contract fakes on 127.0.0.1."""
from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from monitor.errors import AuthFailedError, ConfigError, PermanentError, RateLimitedError, TransientError
from monitor.notifiers.slack import SlackApiNotifier, SlackConfig, SlackWebhookNotifier, make_slack
from monitor.settings import parse_settings
from tests.notifiers.notifier_fakes import SlackApi, SlackWebhook, assert_no_secret, strings_in, surviving_tokens

HOOK_PATH = "/services/T000/B000/XXXXSECRETXXXX"
TOKEN = "xoxb-1-secret-token"


@pytest.fixture
def hook(httpserver):
    fake = SlackWebhook()
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_handler(fake)
    return fake


@pytest.fixture
def api(httpserver):
    fake = SlackApi(TOKEN, "C123")
    httpserver.expect_request("/api/chat.postMessage", method="POST").respond_with_handler(fake)
    return fake


def webhook_notifier(httpserver, ctx, **extra) -> SlackWebhookNotifier:
    config = SlackConfig.model_validate({"type": "slack", "webhook_url": httpserver.url_for(HOOK_PATH), **extra})
    notifier = make_slack("support", config, ctx)
    assert isinstance(notifier, SlackWebhookNotifier)
    return notifier


def api_notifier(httpserver, ctx) -> SlackApiNotifier:
    config = SlackConfig.model_validate({"type": "slack", "token": TOKEN, "channel": "C123",
                                         "api_url": httpserver.url_for("/api")})
    notifier = make_slack("support", config, ctx)
    assert isinstance(notifier, SlackApiNotifier)
    return notifier


async def test_webhook_posts_block_kit_without_unfurls(httpserver, hook, ctx, alert):
    delivery = await webhook_notifier(httpserver, ctx).send(alert, "key-1")
    assert (delivery.notifier_id, delivery.alert_id, delivery.status_code) == ("support", alert.id, 200)
    body = hook.bodies[0]
    assert body["unfurl_links"] is False and body["unfurl_media"] is False
    assert "link_names" not in body and "parse" not in body
    assert body["blocks"][0] == {"type": "header", "text": {
        "type": "plain_text", "text": "🔴 High · Acme · outage · urgent", "emoji": True}}
    everything = "\n".join(strings_in(body))
    for needle in ("Acme login broken again", "<https://example.com/posts/1|Open post>", "*Drafted reply*",
                   "1,520 followers", "*Respond by*", 'matched "Acme" exact 100'):
        assert needle in everything
    assert body["text"].startswith("🔴 High · Acme · outage · urgent: Acme login broken again")


async def test_hostile_text_pings_nobody(httpserver, hook, ctx, hostile_alert):
    await webhook_notifier(httpserver, ctx).send(hostile_alert, "key-1")
    texts = strings_in(hook.bodies[0])
    assert all(surviving_tokens(text) == [] for text in texts)
    assert any("&lt;!channel&gt;" in text for text in texts)
    assert not any("\x1b" in text for text in texts)


async def test_over_long_text_is_cut_not_rejected(httpserver, hook, ctx, long_alert):
    delivery = await webhook_notifier(httpserver, ctx).send(long_alert, "key-1")
    assert delivery.status_code == 200  # the fake enforces Block Kit's limits and the ~13k quirk
    excerpt = hook.bodies[0]["blocks"][1]["text"]["text"]
    assert excerpt.endswith("…") and len(excerpt) <= 3000


@pytest.mark.parametrize("status, body, headers, kind, retry_after", [
    (429, "rate_limited", {"Retry-After": "7"}, RateLimitedError, 7.0),
    (404, "no_service", None, PermanentError, None),
    (410, "channel_is_archived", None, PermanentError, None),
    (403, "invalid_token", None, AuthFailedError, None),
    (400, "invalid_payload", None, PermanentError, None),
    (500, "rollup_error", None, TransientError, None),
])
async def test_webhook_errors_map_to_kinds(httpserver, hook, ctx, alert, status, body, headers, kind, retry_after):
    hook.fail(status, body, headers)
    with pytest.raises(kind) as info:
        await webhook_notifier(httpserver, ctx).send(alert, "key-1")
    assert type(info.value) is kind
    assert getattr(info.value, "retry_after", None) == retry_after
    assert body in str(info.value) and "support" in str(info.value)
    assert_no_secret(info.value, "XXXXSECRETXXXX")


async def test_timeout_is_transient_and_hides_the_url(ctx, alert, silent_url):
    config = SlackConfig.model_validate({"type": "slack", "webhook_url": silent_url + HOOK_PATH, "timeout": "200ms"})
    with pytest.raises(TransientError) as info:
        await make_slack("support", config, ctx).send(alert, "key-1")
    assert "timed out" in str(info.value)
    assert_no_secret(info.value, "XXXXSECRETXXXX")


async def test_connection_refused_is_transient(ctx, alert):
    config = SlackConfig.model_validate({"type": "slack", "webhook_url": "http://127.0.0.1:9" + HOOK_PATH})
    with pytest.raises(TransientError) as info:
        await make_slack("support", config, ctx).send(alert, "key-1")
    assert_no_secret(info.value, "XXXXSECRETXXXX")


async def test_web_api_returns_ts_and_sends_bearer_and_metadata(httpserver, api, ctx, alert):
    notifier = api_notifier(httpserver, ctx)
    first = await notifier.send(alert, "key-1")
    second = await notifier.send(alert, "key-2")
    assert first.remote_id == "1700000000.000100" and second.remote_id == "1700000000.000101"
    body = api.bodies[0]
    assert body["channel"] == "C123" and body["unfurl_links"] is False
    assert body["metadata"] == {"event_type": "brand_alert",
                                "event_payload": {"alert_id": alert.id, "idempotency_key": "key-1"}}
    assert api.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("status, body, headers, kind, retry_after", [
    (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"}, RateLimitedError, 30.0),
    (200, {"ok": False, "error": "ratelimited"}, None, RateLimitedError, None),
    (200, {"ok": False, "error": "invalid_auth"}, None, AuthFailedError, None),
    (200, {"ok": False, "error": "token_revoked"}, None, AuthFailedError, None),
    (200, {"ok": False, "error": "channel_not_found"}, None, PermanentError, None),
    (200, {"ok": False, "error": "msg_too_long"}, None, PermanentError, None),
    (200, {"ok": False, "error": "internal_error"}, None, TransientError, None),
    (503, "", {"Retry-After": "5"}, RateLimitedError, 5.0),
])
async def test_web_api_errors_map_to_kinds(httpserver, api, ctx, alert, status, body, headers, kind, retry_after):
    api.fail(status, body, headers)
    with pytest.raises(kind) as info:
        await api_notifier(httpserver, ctx).send(alert, "key-1")
    assert type(info.value) is kind
    assert getattr(info.value, "retry_after", None) == retry_after
    assert_no_secret(info.value, TOKEN, "secret-token")


async def test_web_api_wrong_token_is_auth_failed(httpserver, api, ctx, alert):
    config = SlackConfig.model_validate({"type": "slack", "token": "xoxb-wrong", "channel": "C123",
                                         "api_url": httpserver.url_for("/api")})
    with pytest.raises(AuthFailedError, match="invalid_auth"):
        await make_slack("support", config, ctx).send(alert, "key-1")


@pytest.mark.parametrize("fields", [
    {},
    {"webhook_url": "https://hooks.slack.com/services/T/B/X", "token": "xoxb-1", "channel": "C1"},
    {"token": "xoxb-1"},
    {"channel": "C1"},
    {"webhook_url": "ftp://hooks.slack.com/services/T/B/SECRETPART"},
])
def test_config_needs_exactly_one_way_to_post(fields):
    with pytest.raises(ValidationError) as info:
        SlackConfig.model_validate({"type": "slack", **fields})
    assert "SECRETPART" not in " ".join(error["msg"] for error in info.value.errors())


def test_config_errors_from_the_loader_name_the_field_not_the_url():
    yaml = ("brands: [{name: Acme}]\nnotifiers:\n  support:\n    type: slack\n"
            "    webhook_url: ftp://hooks.slack.com/services/T/B/SECRETPART\n")
    with pytest.raises(ConfigError) as info:
        parse_settings(yaml, "c.yaml")
    assert "c.yaml:5: notifiers.support.webhook_url: must be an http:// or https:// URL" in str(info.value)
    assert "SECRETPART" not in str(info.value)


def test_webhook_url_file_twin(tmp_path):
    (tmp_path / "url").write_text("https://hooks.slack.com/services/T/B/X\n")
    config = SlackConfig.model_validate({"type": "slack", "webhook_url_file": str(tmp_path / "url")})
    assert config.webhook_url.get_secret_value() == "https://hooks.slack.com/services/T/B/X"
    assert "services" not in repr(config)


def test_payload_is_json_serialisable_with_unicode(alert):
    from monitor.notifiers.slack import message
    assert "🔴" in json.dumps(message(alert), ensure_ascii=False)


async def test_web_api_posts_an_incident_update_into_its_thread(httpserver, api, ctx, alert):
    import dataclasses
    notifier = api_notifier(httpserver, ctx)
    await notifier.send(alert, "key-1")
    await notifier.send(dataclasses.replace(alert, thread="incident:x", thread_parent="1700000000.000100"), "key-2")
    assert "thread_ts" not in api.bodies[0]
    assert api.bodies[1]["thread_ts"] == "1700000000.000100"
