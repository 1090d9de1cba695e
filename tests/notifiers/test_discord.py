"""Discord webhook against a contract fake: embeds, allowed_mentions, wait=true, 429 retry_after."""
from __future__ import annotations

import pytest

from monitor.errors import AuthFailedError, PermanentError, RateLimitedError, TransientError
from monitor.notifiers.discord import DiscordConfig, make_discord
from tests.notifiers.notifier_fakes import (
    MARKDOWN_LINKS,
    DiscordWebhook,
    assert_no_secret,
    discord_embed_problem,
    strings_in,
    surviving_tokens,
)

PATH = "/api/webhooks/123456/DISCORDTOKENSECRET"


@pytest.fixture
def discord(httpserver):
    fake = DiscordWebhook()
    httpserver.expect_request(PATH, method="POST").respond_with_handler(fake)
    return fake


def notifier(httpserver, ctx, **extra):
    return make_discord("dc", DiscordConfig.model_validate({"type": "discord", "webhook_url": httpserver.url_for(PATH),
                                                            **extra}), ctx)


async def test_sends_one_embed_and_learns_the_message_id(httpserver, discord, ctx, alert):
    delivery = await notifier(httpserver, ctx, username="Brand Monitor").send(alert, "k")
    assert delivery.status_code == 200 and delivery.remote_id == "1100000000000000000"
    assert discord.requests[0].args["wait"] == "true"
    body = discord.bodies[0]
    assert body["allowed_mentions"] == {"parse": []} and body["username"] == "Brand Monitor"
    assert "flags" not in body  # SUPPRESS_EMBEDS would hide our own embed
    embed = body["embeds"][0]
    assert embed["color"] == 0xE01E5A and embed["url"] == "https://example.com/posts/1"
    assert embed["title"].startswith("🔴 Acme login broken again")
    assert {f["name"] for f in embed["fields"]} >= {"Severity", "Sentiment", "Author", "Respond by", "Why"}
    assert "**Drafted reply**" in embed["description"]


async def test_hostile_text_pings_nobody(httpserver, discord, ctx, hostile_alert):
    await notifier(httpserver, ctx).send(hostile_alert, "k")
    body = discord.bodies[0]
    assert body["allowed_mentions"] == {"parse": []}
    for text in strings_in(body["embeds"]):
        assert surviving_tokens(text) == [] and not [t for t in MARKDOWN_LINKS if t in text]


async def test_over_long_text_fits_the_6000_character_embed_budget(httpserver, discord, ctx, long_alert):
    delivery = await notifier(httpserver, ctx).send(long_alert, "k")
    assert delivery.status_code == 200  # the fake answers 400 50035 over any embed limit
    assert discord_embed_problem(discord.bodies[0]["embeds"]) is None
    assert discord.bodies[0]["embeds"][0]["description"].count("…") >= 1


@pytest.mark.parametrize("body, headers, retry_after", [
    ({"message": "You are being rate limited.", "retry_after": 64.57, "global": False},
     {"Retry-After": "65", "X-RateLimit-Scope": "shared"}, 64.57),
    ({"message": "You are being rate limited.", "retry_after": 64570, "global": False},
     {"Retry-After": "65"}, 64.57),
    ("<html><body>Error 1015 You are being rate limited</body></html>", {"Retry-After": "30"}, 30.0),
])
async def test_429_uses_json_retry_after(httpserver, discord, ctx, alert, body, headers, retry_after):
    discord.fail(429, body, headers)
    with pytest.raises(RateLimitedError) as info:
        await notifier(httpserver, ctx).send(alert, "k")
    assert info.value.retry_after == pytest.approx(retry_after)
    assert_no_secret(info.value, "DISCORDTOKENSECRET")


@pytest.mark.parametrize("status, body, kind", [
    (404, {"message": "Unknown Webhook", "code": 10015}, PermanentError),
    (401, {"message": "Invalid Webhook Token", "code": 50027}, AuthFailedError),
    (403, {"message": "Missing Access", "code": 50001}, AuthFailedError),
    (400, {"message": "Invalid Form Body", "code": 50035}, PermanentError),
    (413, {"message": "Request entity too large", "code": 40005}, PermanentError),
    (502, "<html>Bad Gateway</html>", TransientError),
])
async def test_errors_map_to_kinds(httpserver, discord, ctx, alert, status, body, kind):
    discord.fail(status, body)
    with pytest.raises(kind) as info:
        await notifier(httpserver, ctx).send(alert, "k")
    assert type(info.value) is kind
    assert_no_secret(info.value, "DISCORDTOKENSECRET")


async def test_timeout_is_transient(ctx, alert, silent_url):
    config = DiscordConfig.model_validate({"type": "discord", "webhook_url": silent_url + PATH, "timeout": "150ms"})
    with pytest.raises(TransientError) as info:
        await make_discord("dc", config, ctx).send(alert, "k")
    assert_no_secret(info.value, "DISCORDTOKENSECRET")
