"""Google Chat webhook against a contract fake with requestId / messageId de-duplication."""
from __future__ import annotations

import pytest

from monitor.errors import AuthFailedError, PermanentError, RateLimitedError, TransientError
from monitor.notifiers.google_chat import GoogleChatConfig, dedup_params, make_google_chat
from tests.notifiers.notifier_fakes import GoogleChatSpace, assert_no_secret

PATH = "/v1/spaces/AAAA/messages"
KEY, TOKEN = "AIzaSyGCHATKEYSECRET", "GCHATTOKENSECRET_abc"


@pytest.fixture
def space(httpserver):
    fake = GoogleChatSpace(KEY, TOKEN)
    httpserver.expect_request(PATH, method="POST").respond_with_handler(fake)
    return fake


def notifier(httpserver, ctx):
    url = httpserver.url_for(PATH) + f"?key={KEY}&token={TOKEN}"
    return make_google_chat("gc", GoogleChatConfig.model_validate({"type": "google_chat", "webhook_url": url}), ctx)


async def test_posts_text_and_a_retry_does_not_duplicate(httpserver, space, ctx, alert):
    sender = notifier(httpserver, ctx)
    first = await sender.send(alert, "alert-1/gc")
    again = await sender.send(alert, "alert-1/gc")
    assert space.created == 1 and first.remote_id == again.remote_id
    assert first.remote_id.startswith("spaces/S/messages/client-")
    text = space.bodies[0]["text"]
    assert text.startswith("🔴 *High · Acme · outage · urgent*") and "<https://example.com/posts/1|Open post>" in text


async def test_duplicate_message_id_counts_as_delivered(httpserver, space, ctx, alert):
    space.message_ids.add(dedup_params("alert-1/gc")["messageId"])
    delivery = await notifier(httpserver, ctx).send(alert, "alert-1/gc")
    assert delivery.status_code == 409 and space.created == 0


def test_message_id_is_a_valid_client_id():
    params = dedup_params("Some Key/with:odd chars")
    assert len(params["messageId"]) <= 63 and params["messageId"].startswith("client-")
    assert params == dedup_params("Some Key/with:odd chars") != dedup_params("another")


async def test_hostile_text_pings_nobody(httpserver, space, ctx, hostile_alert):
    await notifier(httpserver, ctx).send(hostile_alert, "k")
    text = space.bodies[0]["text"]
    assert "<users/all>" not in text and "<!channel>" not in text and "<https://evil" not in text


async def test_over_long_text_fits_32000_bytes(httpserver, space, ctx, long_alert):
    delivery = await notifier(httpserver, ctx).send(long_alert, "k")
    assert delivery.status_code == 200 and len(space.requests[0].get_data()) <= 32_000


@pytest.mark.parametrize("status, status_name, kind", [
    (429, "RESOURCE_EXHAUSTED", RateLimitedError), (403, "PERMISSION_DENIED", AuthFailedError),
    (404, "NOT_FOUND", PermanentError), (400, "INVALID_ARGUMENT", PermanentError), (500, "INTERNAL", TransientError),
])
async def test_errors_map_to_kinds(httpserver, space, ctx, alert, status, status_name, kind):
    space.fail(status, {"error": {"code": status, "message": f"token={TOKEN}", "status": status_name}})
    with pytest.raises(kind) as info:
        await notifier(httpserver, ctx).send(alert, "k")
    assert type(info.value) is kind and status_name in str(info.value)
    assert_no_secret(info.value, KEY, TOKEN)
