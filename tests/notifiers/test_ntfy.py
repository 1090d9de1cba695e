"""ntfy JSON publishing against a contract fake (429 without Retry-After)."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from monitor.errors import AuthFailedError, PermanentError, RateLimitedError, TransientError
from monitor.models import Assessment
from monitor.notifiers.ntfy import NtfyConfig, make_ntfy
from tests.notifiers.notifier_fakes import NTFY_429, NtfyServer, assert_no_secret

TOKEN = "tk_ntfysecrettoken123456789"


@pytest.fixture
def ntfy(httpserver):
    fake = NtfyServer(token=TOKEN)
    httpserver.expect_request("/", method="POST").respond_with_handler(fake)
    return fake


def notifier(httpserver, ctx, token=TOKEN):
    config = NtfyConfig.model_validate({"type": "ntfy", "topic": "acme-alerts", "server": httpserver.url_for("/"),
                                        "token": token})
    return make_ntfy("nt", config, ctx)


async def test_publishes_json_with_priority_and_no_markdown(httpserver, ntfy, ctx, alert):
    delivery = await notifier(httpserver, ctx).send(alert, "k")
    assert delivery.remote_id == "msg1"
    body = ntfy.bodies[0]
    assert body["topic"] == "acme-alerts" and body["markdown"] is False and body["priority"] == 4
    assert body["title"] == "🔴 High · Acme · outage · urgent" and body["tags"] == ["red_circle"]
    assert body["click"] == "https://example.com/posts/1"
    assert body["message"].startswith("Acme login broken again")
    assert ntfy.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert not any(h.lower().startswith("x-") for h in ntfy.requests[0].headers.keys())


@pytest.mark.parametrize("severity, priority", [("critical", 5), ("high", 4), ("medium", 3), ("low", 2)])
async def test_priority_follows_severity(httpserver, ntfy, ctx, alert, severity, priority):
    import dataclasses
    assessment: Assessment = dataclasses.replace(alert.assessment, severity=severity)
    await notifier(httpserver, ctx).send(dataclasses.replace(alert, assessment=assessment), "k")
    assert ntfy.bodies[0]["priority"] == priority


async def test_over_long_text_stays_under_4096_bytes(httpserver, ntfy, ctx, long_alert):
    await notifier(httpserver, ctx).send(long_alert, "k")
    assert ntfy.attachments == 0 and len(ntfy.bodies[0]["message"].encode()) <= 4096


async def test_429_without_retry_after_waits_for_the_refill(httpserver, ntfy, ctx, alert):
    ntfy.fail(429, NTFY_429)
    with pytest.raises(RateLimitedError) as info:
        await notifier(httpserver, ctx).send(alert, "k")
    assert info.value.retry_after == 5.0


@pytest.mark.parametrize("status, kind", [(401, AuthFailedError), (403, AuthFailedError), (413, PermanentError),
                                          (500, TransientError)])
async def test_errors_map_to_kinds(httpserver, ntfy, ctx, alert, status, kind):
    ntfy.fail(status, {"code": status * 100 + 1, "http": status, "error": "nope"})
    with pytest.raises(kind) as info:
        await notifier(httpserver, ctx).send(alert, "k")
    assert type(info.value) is kind
    assert_no_secret(info.value, TOKEN)


async def test_wrong_token_is_auth_failed(httpserver, ntfy, ctx, alert):
    with pytest.raises(AuthFailedError):
        await notifier(httpserver, ctx, token="tk_wrong").send(alert, "k")


def test_topic_must_be_a_valid_ntfy_topic():
    with pytest.raises(ValidationError):
        NtfyConfig.model_validate({"type": "ntfy", "topic": "bad topic/../x"})
