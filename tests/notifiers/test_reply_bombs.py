"""A destination's reply is capped on decoded bytes: a few kilobytes of double gzip answered with 200 stop at
notifiers.base.MAX_REPLY as a PermanentError, instead of being inflated whole in memory. Real loopback servers
serve the real compressed bytes (tests/servers/bombs.py)."""
from __future__ import annotations

import json

import pytest

from monitor.errors import PermanentError
from monitor.notifiers.base import MAX_REPLY
from monitor.notifiers.matrix import MatrixConfig, MatrixNotifier
from monitor.notifiers.slack import SlackConfig, make_slack
from monitor.notifiers.webhook import WebhookConfig, WebhookNotifier
from tests.servers.bombs import MIB, bomb, compress

CAPPED = f"decoded body exceeds the {MAX_REPLY}-byte cap (Content-Encoding: gzip, gzip)"


def webhook(url: str, ctx):
    return WebhookNotifier("hooks", WebhookConfig.model_validate({"type": "webhook", "url": url + "/hook"}), ctx.http)


def slack_webhook(url: str, ctx):
    return make_slack("support", SlackConfig.model_validate({"type": "slack", "webhook_url": url + "/hook"}), ctx)


def slack_api(url: str, ctx):
    config = SlackConfig.model_validate({"type": "slack", "token": "xoxb-1-secret-token", "channel": "C123",
                                         "api_url": url + "/api"})
    return make_slack("support", config, ctx)


def matrix(url: str, ctx):
    config = MatrixConfig(type="matrix", homeserver=url, access_token="syt_secret", room_id="!room:example.org")
    return MatrixNotifier("team_room", config, ctx.http)


@pytest.mark.parametrize("make, what", [(webhook, "webhook notifier 'hooks'"),
                                        (slack_webhook, "slack notifier 'support'"),
                                        (slack_api, "slack notifier 'support'"),
                                        (matrix, "matrix notifier 'team_room'")])
async def test_a_double_gzip_bomb_in_reply_is_a_permanent_error(httpserver, ctx, alert, make, what):
    body = bomb("gzip, gzip", 128 * MIB)
    assert len(body) < 4000
    httpserver.expect_request("").respond_with_data(body, content_type="application/json",
                                                    headers={"Content-Encoding": "gzip, gzip"})
    with pytest.raises(PermanentError) as info:
        await make(httpserver.url_for("").rstrip("/"), ctx).send(alert, "key-1")
    assert str(info.value) == f"{what}: {CAPPED}"


async def test_a_compressed_reply_is_still_read(httpserver, ctx, alert):
    reply = json.dumps({"ok": True, "channel": "C123", "ts": "1700000000.000100"}).encode()
    httpserver.expect_request("/api/chat.postMessage").respond_with_data(
        compress("gzip", reply), content_type="application/json", headers={"Content-Encoding": "gzip"})
    delivery = await slack_api(httpserver.url_for("").rstrip("/"), ctx).send(alert, "key-1")
    assert delivery.remote_id == "1700000000.000100"
