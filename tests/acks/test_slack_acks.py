"""Slack reactions acknowledge alerts: the real Web API notifier posts, people react, reactions.get reports."""
from __future__ import annotations

import re

import pytest

from monitor.acks.slack import SlackAckListener, reactors, take_turns
from monitor.errors import AuthFailedError, PermanentError, RateLimitedError, TransientError
from monitor.notifiers.slack import SlackApiNotifier, SlackConfig, slack_ack_listener
from monitor.registry import PluginContext
from tests.acks.fakes import SlackWorkspace
from tests.acks.helpers import NOW, acked, deliver

TOKEN = "xoxb-1111-2222-secretSLACKtoken"


@pytest.fixture
def slack(httpserver) -> SlackWorkspace:
    fake = SlackWorkspace(TOKEN)
    httpserver.expect_request(re.compile(r"/api/[\w.]+")).respond_with_handler(fake)
    return fake


def config(httpserver, channel: str = "C0ALERTS1") -> SlackConfig:
    return SlackConfig.model_validate({"type": "slack", "token": TOKEN, "channel": channel,
                                       "api_url": httpserver.url_for("/api"), "timeout": "5s"})


async def sent(httpserver, http, store, count: int, channel: str = "C0ALERTS1") -> dict[str, str]:
    return await deliver(store, SlackApiNotifier("team", config(httpserver, channel), http), "team", count=count)


def listener(httpserver, http, store, per_poll: int = 20, channel: str = "C0ALERTS1") -> SlackAckListener:
    return SlackAckListener("team", config(httpserver, channel), http, store, per_poll=per_poll)


async def test_a_reaction_by_a_person_acknowledges(httpserver, slack, http, store):
    (first, first_ts), (second, second_ts), (third, third_ts) = (await sent(httpserver, http, store, 3)).items()
    slack.react(first_ts, "white_check_mark", "U0ANN0001")
    slack.react(second_ts, "robot_face", SlackWorkspace.BOT_USER)  # the bot's own: not an acknowledgement
    watcher = listener(httpserver, http, store)

    assert await watcher.poll_once(NOW + 60) == 1
    assert acked(store, first) == (NOW + 60, "slack:U0ANN0001")
    assert acked(store, second) == acked(store, third) == (None, None)
    gets = [args for method, args in slack.calls if method == "reactions.get"]
    assert {g["timestamp"] for g in gets} == {first_ts, second_ts, third_ts}
    assert all(g["channel"] == "C0ALERTS1" for g in gets)

    slack.react(second_ts, "eyes", "U0BOB0002")
    slack.react(first_ts, "+1", "U0BOB0002")  # already acknowledged: no longer asked about
    assert await watcher.poll_once(NOW + 90) == 1
    assert acked(store, second) == (NOW + 90, "slack:U0BOB0002")
    assert acked(store, first) == (NOW + 60, "slack:U0ANN0001")
    last_gets = [a["timestamp"] for m, a in slack.calls[-2:] if m == "reactions.get"]
    assert first_ts not in last_gets


async def test_at_most_per_poll_calls_taking_turns(httpserver, slack, http, store):
    alerts = await sent(httpserver, http, store, 5)
    watcher = listener(httpserver, http, store, per_poll=2)
    asked = []
    for step in range(3):
        before = len(slack.calls)
        assert await watcher.poll_once(NOW + step) == 0
        asked.append([a["timestamp"] for m, a in slack.calls[before:] if m == "reactions.get"])
    ordered = sorted(alerts.values(), key=float)
    assert asked == [ordered[0:2], ordered[2:4], [ordered[4], ordered[0]]]


async def test_rate_limited_mid_poll(httpserver, slack, http, store):
    (first, first_ts), (second, second_ts) = (await sent(httpserver, http, store, 2)).items()
    slack.react(first_ts, "white_check_mark", "U0ANN0001")
    slack.react(second_ts, "white_check_mark", "U0BOB0002")
    watcher = listener(httpserver, http, store)
    slack.fail(200, {"ok": True, "url": "https://acme.slack.com/", "user_id": SlackWorkspace.BOT_USER}, "auth.test")
    slack.fail(200, _get_reply(slack, first_ts), "reactions.get")
    slack.fail(429, {"ok": False, "error": "ratelimited"}, "reactions.get", headers={"Retry-After": "30"})

    with pytest.raises(RateLimitedError) as caught:
        await watcher.poll_once(NOW)
    assert caught.value.retry_after == 30.0
    assert acked(store, first) == (NOW, "slack:U0ANN0001")  # done before the 429: kept
    assert acked(store, second) == (None, None)
    assert await watcher.poll_once(NOW + 30) == 1           # goes on with the message it could not check
    assert acked(store, second) == (NOW + 30, "slack:U0BOB0002")


def _get_reply(slack: SlackWorkspace, ts: str) -> dict:
    message = slack.messages[ts]
    return {"ok": True, "type": "message", "channel": slack.channel, "message": {
        "type": "message", "ts": ts, "text": message.text, "user": SlackWorkspace.BOT_USER,
        "reactions": [{"name": n, "users": u, "count": len(u)} for n, u in message.reactions.items()]}}


async def test_deleted_message_is_skipped_and_not_asked_again(httpserver, slack, http, store):
    (first, first_ts), (second, second_ts) = (await sent(httpserver, http, store, 2)).items()
    del slack.messages[first_ts]
    slack.react(second_ts, "eyes", "U0ANN0001")
    watcher = listener(httpserver, http, store)
    assert await watcher.poll_once(NOW) == 1
    assert acked(store, first) == (None, None) and acked(store, second)[1] == "slack:U0ANN0001"
    before = len(slack.calls)
    assert await watcher.poll_once(NOW + 30) == 0
    assert slack.calls[before:] == []  # nothing left to ask about


async def test_missing_scope_is_auth_failed(httpserver, http, store):
    fake = SlackWorkspace(TOKEN, scopes=("chat:write",))
    httpserver.expect_request(re.compile(r"/api/[\w.]+")).respond_with_handler(fake)
    await sent(httpserver, http, store, 1)
    with pytest.raises(AuthFailedError) as caught:
        await listener(httpserver, http, store).poll_once(NOW)
    assert "missing_scope" in str(caught.value) and TOKEN not in str(caught.value)


async def test_channel_name_instead_of_id_is_explained(httpserver, slack, http, store):
    await sent(httpserver, http, store, 1, channel="#alerts")
    with pytest.raises(PermanentError) as caught:
        await listener(httpserver, http, store, channel="#alerts").poll_once(NOW)
    assert "channel ID" in str(caught.value)


async def test_server_error_names_slacks_error_code_and_honours_retry_after(httpserver, slack, http, store):
    await sent(httpserver, http, store, 1)
    watcher = listener(httpserver, http, store)
    slack.fail(500, {"ok": False, "error": "fatal_error"}, "auth.test", headers={"x-slack-req-id": "4f1c3d0e9b8a"})
    with pytest.raises(TransientError) as caught:
        await watcher.poll_once(NOW)
    assert str(caught.value) == "slack ack listener 'team': auth.test [fatal_error]: HTTP 500"
    slack.fail(503, "<html><body>Service Unavailable</body></html>", "auth.test", headers={"Retry-After": "120"})
    with pytest.raises(RateLimitedError) as caught:
        await watcher.poll_once(NOW + 15)
    assert caught.value.retry_after == 120.0


def test_webhook_mode_has_no_listener(store):
    hook = SlackConfig.model_validate({"type": "slack", "webhook_url": "https://hooks.slack.com/services/T/B/x"})
    ctx = PluginContext(http=None, brands=())  # type: ignore[arg-type]
    assert slack_ack_listener("hook", hook, ctx, store) is None


def test_reactors_and_turns():
    body = {"ok": True, "message": {"reactions": [{"name": "eyes", "users": ["U1", "U2"]},
                                                  {"name": "+1", "users": ["U2", "U3", 7]}]}}
    assert reactors(body) == ["U1", "U2", "U3"]
    assert reactors({"ok": True, "message": {"ts": "1"}}) == [] == reactors({})
    assert take_turns(["3.0", "1.0", "2.0", "2.0"], 1.0, 2) == ["2.0", "3.0"]
    assert take_turns(["3.0", "1.0", "2.0"], 3.0, 2) == ["1.0", "2.0"]
