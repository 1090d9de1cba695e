"""The generic signed webhook against a real loopback receiver; signatures verified independently."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from pydantic import ValidationError

from monitor.errors import AuthFailedError, PermanentError, RateLimitedError, TransientError
from monitor.notifiers.webhook import WebhookConfig, WebhookNotifier, make_webhook
from tests.notifiers.notifier_fakes import Fake, assert_no_secret

KEY = b"0123456789abcdef0123456789abcdef"
SECRET = "whsec_" + base64.b64encode(KEY).decode()
NOW = 1_767_225_600


@pytest.fixture
def receiver(httpserver):
    fake = Fake()
    httpserver.expect_request("/hook", method="POST").respond_with_handler(fake)
    return fake


def notifier(httpserver, ctx, **extra) -> WebhookNotifier:
    config = WebhookConfig.model_validate({"type": "webhook", "url": httpserver.url_for("/hook?token=TOKSECRET12345"),
                                           **extra})
    return WebhookNotifier("hooks", config, ctx.http, clock=lambda: NOW + 0.7)


def verify(secret_key: bytes, headers, body: bytes) -> bool:
    """What a receiver does (Standard Webhooks), written independently of the sender's code."""
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(secret_key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, sig.split(",", 1)[1])
               for sig in headers["webhook-signature"].split() if sig.startswith("v1,"))


async def test_posts_the_documented_json_with_standard_webhooks_headers(httpserver, receiver, ctx, alert):
    delivery = await notifier(httpserver, ctx, secret=SECRET, headers={"X-Team": "support"}).send(alert, "idem-1")
    assert delivery.status_code == 204 and delivery.alert_id == alert.id
    request, body = receiver.requests[0], receiver.bodies[0]
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == request.headers["webhook-id"] == "idem-1"
    assert request.headers["webhook-timestamp"] == str(NOW)
    assert request.headers["X-Team"] == "support"
    assert verify(KEY, request.headers, request.get_data())
    assert not verify(b"wrong key", request.headers, request.get_data())
    assert not verify(KEY, request.headers, request.get_data().replace(b"Acme", b"Acne"))
    assert body["type"] == "brand_mention.alert" and body["id"] == alert.id
    assert body["created_at"] == alert.created_at.isoformat()
    data = body["data"]
    assert {k: data[k] for k in ("brand", "competitor", "severity", "sentiment", "category", "issue", "urgent",
                                 "judged_by", "language")} == {
        "brand": "Acme", "competitor": False, "severity": "high", "sentiment": "negative", "category": "outage",
        "issue": "outage", "urgent": True, "judged_by": "test-notify sample", "language": "en"}
    assert data["ack_url"] is None
    assert data["sentiment_score"] == -0.8 and data["routes"] == ["test-notify"] and data["reply"] == alert.reply
    m = alert.mention.matches[0]
    assert data["matches"] == [{"term": "Acme", "kind": "exact", "score": 100.0, "start": m.start, "end": m.end}]
    post = data["post"]
    assert post["author"] == {"handle": "jane_doe", "display_name": "Jane Doe", "followers": 1520}
    assert post["engagement"] == {"likes": 12, "reposts": 3, "replies": 4}
    assert post["text"] == alert.mention.post.text  # raw: escaping is the receiver's job ...
    assert "&lt;!channel&gt;" in post["text_html_escaped"]  # ... with an escaped copy offered
    assert post["published_at"] == alert.mention.post.published_at.isoformat()
    assert data["respond_by"] == alert.respond_by.isoformat()


async def test_no_signature_without_secret_and_plain_string_secrets(httpserver, receiver, ctx, alert):
    await notifier(httpserver, ctx).send(alert, "idem-1")
    assert "webhook-signature" not in receiver.requests[0].headers
    await notifier(httpserver, ctx, secret="plain passphrase").send(alert, "idem-2")
    assert verify(b"plain passphrase", receiver.requests[1].headers, receiver.requests[1].get_data())


async def test_terminal_and_bidi_controls_are_removed_and_the_ack_link_is_sent(httpserver, receiver, ctx, alert):
    from dataclasses import replace
    post = replace(alert.mention.post, title="t\x1b[2Jitle\x07", text="Acme\x00 \u202egnp.exe\x1b]0;x\x07 down",
                   author=replace(alert.mention.post.author, display_name="Jane\x1b[31m"))
    hostile = replace(alert, mention=replace(alert.mention, post=post), ack_url="https://ack.example/a/1?sig=x")
    await notifier(httpserver, ctx).send(hostile, "idem-2")
    raw = receiver.requests[0].get_data().decode()
    data = receiver.bodies[0]["data"]
    assert not any(ch in raw for ch in ("\\u001b", "\\u0007", "\\u0000", "\\u202e", "\u202e"))
    assert data["post"]["title"] == "t[2Jitle" and data["post"]["text"] == "Acme gnp.exe]0;x down"
    assert data["post"]["author"]["display_name"] == "Jane[31m" and data["ack_url"] == hostile.ack_url


async def test_retries_carry_the_same_webhook_id(httpserver, receiver, ctx, alert):
    receiver.fail(503, "busy", {"Retry-After": "3"})
    sender = notifier(httpserver, ctx, secret=SECRET)
    with pytest.raises(RateLimitedError) as info:
        await sender.send(alert, "idem-1")
    assert info.value.retry_after == 3.0
    await sender.send(alert, "idem-1")
    assert [r.headers["webhook-id"] for r in receiver.requests] == ["idem-1", "idem-1"]


async def test_over_long_text_is_capped(httpserver, receiver, ctx, long_alert):
    await notifier(httpserver, ctx).send(long_alert, "idem-1")
    text = receiver.bodies[0]["data"]["post"]["text"]
    assert 19_000 < len(text) <= 20_000 and text.endswith("…")


@pytest.mark.parametrize("status, kind, retry_after", [
    (429, RateLimitedError, 12.0), (401, AuthFailedError, None), (403, AuthFailedError, None),
    (404, PermanentError, None), (410, PermanentError, None), (400, PermanentError, None),
    (500, TransientError, None), (502, TransientError, None), (408, TransientError, None),
])
async def test_errors_map_to_kinds_without_leaking_the_url(httpserver, receiver, ctx, alert, status, kind,
                                                           retry_after):
    receiver.fail(status, "token=TOKSECRET12345 nope", {"Retry-After": "12"} if status == 429 else None)
    with pytest.raises(kind) as info:
        await notifier(httpserver, ctx).send(alert, "idem-1")
    assert type(info.value) is kind and getattr(info.value, "retry_after", None) == retry_after
    assert_no_secret(info.value, "TOKSECRET12345")


async def test_timeout_is_transient(ctx, alert, silent_url):
    config = WebhookConfig.model_validate({"type": "webhook", "url": silent_url + "/h?token=TOKSECRET12345",
                                           "timeout": "150ms"})
    with pytest.raises(TransientError) as info:
        await make_webhook("hooks", config, ctx).send(alert, "idem-1")
    assert_no_secret(info.value, "TOKSECRET12345")


@pytest.mark.parametrize("fields", [
    {"url": "https://x.example/h", "headers": {"webhook-id": "spoof"}},
    {"url": "https://x.example/h", "secret": "whsec_!!!notbase64"},
    {"url": "mailto:a@b"},
])
def test_config_rejects(fields):
    with pytest.raises(ValidationError):
        WebhookConfig.model_validate({"type": "webhook", **fields})


def test_payload_round_trips_as_json(alert):
    from monitor.notifiers.webhook import alert_payload, encode_json
    assert json.loads(encode_json(alert_payload(alert)))["data"]["post"]["platform"] == "test"
