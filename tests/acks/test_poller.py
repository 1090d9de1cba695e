"""Which listeners the settings produce, and how AckPoller contains their failures."""
from __future__ import annotations

from structlog.testing import capture_logs

from monitor.acks import AckPoller, MatrixAckListener, SlackAckListener, TelegramAckListener, ack_listeners
from monitor.errors import AuthFailedError, RateLimitedError, TransientError
from monitor.settings import parse_settings

CONFIG = """
brands: [{name: Acme, keywords: [Acme]}]
notifiers:
  room: {type: matrix, homeserver: "https://matrix.example.org", access_token: t, room_id: "!abc:example.org"}
  tg_support: {type: telegram, token: "111:AAA", chat_id: -100}
  tg_oncall: {type: telegram, token: "111:AAA", chat_id: -200}
  tg_other: {type: telegram, token: "222:BBB", chat_id: -300}
  slack_api: {type: slack, token: xoxb-1, channel: C0123}
  slack_hook: {type: slack, webhook_url: "https://hooks.slack.com/services/T/B/x"}
"""


def test_one_listener_per_matrix_room_slack_api_destination_and_telegram_bot(store):
    listeners = ack_listeners(parse_settings(CONFIG), None, store)  # type: ignore[arg-type]
    assert [(type(x), x.id) for x in listeners] == [
        (MatrixAckListener, "room"), (TelegramAckListener, "tg_support"), (TelegramAckListener, "tg_other"),
        (SlackAckListener, "slack_api")]


class Scripted:
    """A listener that replays outcomes: an int is a successful poll, an exception is raised."""

    def __init__(self, ident: str, outcomes: list) -> None:
        self.id, self.kind, self.outcomes, self.polls = ident, "test", outcomes, []

    async def poll_once(self, now: float) -> int:
        self.polls.append(now)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


async def test_failures_are_contained_logged_on_change_and_retry_after_honoured():
    flaky = Scripted("flaky", [TransientError("down"), TransientError("down"), 2])
    limited = Scripted("limited", [RateLimitedError("slow", 60.0), 1])
    broken = Scripted("broken", [AuthFailedError("bad token")] * 3)
    poller = AckPoller([flaky, limited, broken])
    with capture_logs() as logs:
        assert await poller.poll(0.0) == 0
        assert set(poller.failing()) == {"test:flaky", "test:limited", "test:broken"}
        assert await poller.poll(30.0) == 0
        assert await poller.poll(60.0) == 3
    assert limited.polls == [0.0, 60.0]  # skipped until its Retry-After had passed
    assert len(flaky.polls) == len(broken.polls) == 3
    events = [(e["event"], e["notifier_id"]) for e in logs]
    assert events == [("ack_listener_failed", "flaky"), ("ack_listener_failed", "limited"),
                      ("ack_listener_failed", "broken"), ("ack_listener_recovered", "flaky"),
                      ("ack_listener_recovered", "limited")]
    assert poller.failing() == {"test:broken": "bad token"}


async def test_listener_state_is_saved_on_change_for_status(store):
    flaky = Scripted("flaky", [TransientError("down"), TransientError("still down"), 1, 0])
    steady = Scripted("steady", [0, 0, 0, 0])
    store.save_listener_state("test:removed", False, 1.0, "gone from the config")
    poller = AckPoller([flaky, steady], store)
    await poller.poll(10.0)
    await poller.poll(20.0)
    assert store.listener_states() == [
        {"listener": "test:flaky", "ok": False, "since": 10.0, "last_error": "still down"},
        {"listener": "test:steady", "ok": True, "since": 10.0, "last_error": None}]
    await poller.poll(30.0)
    await poller.poll(40.0)
    assert store.listener_states()[0] == {"listener": "test:flaky", "ok": True, "since": 30.0, "last_error": None}
