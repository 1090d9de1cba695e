"""Mattermost incoming webhook against a contract fake that records which mentions would notify."""
from __future__ import annotations

import pytest

from monitor.errors import AuthFailedError, PermanentError, RateLimitedError, TransientError
from monitor.notifiers.mattermost import MattermostConfig, make_mattermost
from tests.notifiers.notifier_fakes import MARKDOWN_LINKS, MattermostHook, assert_no_secret

PATH = "/hooks/mmsecretkey1234567890"


@pytest.fixture
def hook(httpserver):
    fake = MattermostHook()
    httpserver.expect_request(PATH, method="POST").respond_with_handler(fake)
    return fake


def notifier(httpserver, ctx, **extra):
    config = MattermostConfig.model_validate({"type": "mattermost", "webhook_url": httpserver.url_for(PATH), **extra})
    return make_mattermost("mm", config, ctx)


async def test_posts_markdown_text(httpserver, hook, ctx, alert):
    delivery = await notifier(httpserver, ctx, username="brand-monitor", channel="town-square").send(alert, "k")
    assert delivery.status_code == 200
    body = hook.bodies[0]
    assert body["username"] == "brand-monitor" and body["channel"] == "town-square"
    assert body["text"].startswith("#### 🔴 High · Acme · outage · urgent\n**Acme login broken again**\n> ")
    assert "[Open post](https://example.com/posts/1)" in body["text"] and "**Drafted reply**" in body["text"]


async def test_hostile_text_would_notify_nobody(httpserver, hook, ctx, hostile_alert):
    await notifier(httpserver, ctx).send(hostile_alert, "k")
    assert hook.would_notify == []
    assert not [token for token in MARKDOWN_LINKS if token in hook.bodies[0]["text"]]


async def test_over_long_text_stays_one_post(httpserver, hook, ctx, long_alert):
    await notifier(httpserver, ctx).send(long_alert, "k")
    assert hook.split_posts == 0 and len(hook.bodies[0]["text"]) <= 16_383


@pytest.mark.parametrize("status, body, headers, kind", [
    (429, "", {"Retry-After": "2", "X-Ratelimit-Limit": "10"}, RateLimitedError),
    (400, "Invalid webhook", None, PermanentError),
    (403, "", None, AuthFailedError),
    (500, "", None, TransientError),
])
async def test_errors_map_to_kinds(httpserver, hook, ctx, alert, status, body, headers, kind):
    hook.fail(status, body, headers)
    with pytest.raises(kind) as info:
        await notifier(httpserver, ctx).send(alert, "k")
    assert type(info.value) is kind
    assert_no_secret(info.value, "mmsecretkey1234567890")
