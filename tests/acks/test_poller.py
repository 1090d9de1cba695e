"""Which listeners the notifier plugins give, and how AckPoller runs them: each alone, backing off when failing."""
from __future__ import annotations

import asyncio
import random
from typing import Literal

from structlog.testing import capture_logs

from monitor import registry
from monitor.acks import AckPoller
from monitor.acks.matrix import MatrixAckListener
from monitor.acks.slack import SlackAckListener
from monitor.acks.telegram import TelegramAckListener
from monitor.app import build_ack_listeners
from monitor.errors import AuthFailedError, RateLimitedError, TransientError
from monitor.runtime.metrics import Metrics
from monitor.settings import NotifierConfig, parse_settings
from monitor.status import collect_status, render_status

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
    listeners = build_ack_listeners(parse_settings(CONFIG), None, store)  # type: ignore[arg-type]
    assert [(type(x), x.id) for x in listeners] == [
        (MatrixAckListener, "room"), (TelegramAckListener, "tg_support"), (TelegramAckListener, "tg_other"),
        (SlackAckListener, "slack_api")]


class PagerConfig(NotifierConfig):
    type: Literal["pager"]
    team: str


class Scripted:
    """A listener that replays outcomes: an int is a successful poll, an exception is raised."""

    def __init__(self, ident: str, outcomes: list, kind: str = "test") -> None:
        self.id, self.kind, self.outcomes, self.polls = ident, kind, outcomes, []

    async def poll_once(self, now: float) -> int:
        self.polls.append(now)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def test_a_third_party_notifier_plugin_brings_its_own_listener(monkeypatch, store):
    built = []

    def pager_listener(notifier_id, config, ctx, given_store):
        built.append((notifier_id, config.team, given_store))
        return Scripted(notifier_id, [], kind="pager")

    monkeypatch.setitem(registry.NOTIFIERS, "pager", registry.Plugin("pager", PagerConfig, lambda *a: None,
                                                                     ack_listener=pager_listener))
    settings = parse_settings(CONFIG + "  oncall_pager: {type: pager, team: ops}\n")
    listeners = build_ack_listeners(settings, None, store)  # type: ignore[arg-type]
    assert [f"{x.kind}:{x.id}" for x in listeners][-1] == "pager:oncall_pager"
    assert built == [("oncall_pager", "ops", store)]


async def test_any_failure_is_contained_logged_on_change_and_backed_off():
    flaky = Scripted("flaky", [TransientError("down"), RuntimeError("a bug"), 2, 0])
    limited = Scripted("limited", [RateLimitedError("slow", 600.0), 1])
    poller = AckPoller([flaky, limited], every=15.0, backoff_max=300.0, rng=random.Random(7))
    with capture_logs() as logs:
        first = await poller.poll(flaky, 0.0)
        assert 15.0 <= first <= 30.0                         # 15 s doubled, with jitter, never below 15 s
        second = await poller.poll(flaky, first)
        assert 15.0 <= second - first <= 60.0
        assert poller.states["test:flaky"].failures == 2
        assert poller.states["test:flaky"].error == "internal error: RuntimeError: a bug"
        assert await poller.poll(limited, 0.0) == 600.0      # the service asked for longer than the cap
        assert await poller.poll(flaky, second) == second + 15.0
        assert await poller.poll(flaky, second + 15) == second + 30.0
    state = poller.states["test:flaky"]
    assert (state.ok, state.failures, state.error, state.since) == (True, 0, None, second)
    assert [(e["event"], e["notifier_id"], e.get("error_kind")) for e in logs] == [
        ("ack_listener_failed", "flaky", "TransientError"), ("ack_listener_failed", "limited", "RateLimitedError"),
        ("ack_listener_recovered", "flaky", None)]


async def test_backoff_is_capped():
    broken = Scripted("broken", [AuthFailedError("bad token")] * 12)
    poller = AckPoller([broken], every=15.0, backoff_max=300.0, rng=random.Random(1))
    delays = [await poller.poll(broken, 0.0) for _ in range(12)]
    assert all(15.0 <= d <= 300.0 for d in delays) and max(delays[6:]) > 60.0
    assert poller.states["test:broken"].failures == 12


async def test_a_hanging_listener_delays_no_other():
    class Hanging:
        id, kind, polls = "hung", "test", 0

        async def poll_once(self, now: float) -> int:
            self.polls += 1
            await asyncio.Event().wait()  # a service that never answers
            return 0

    hung, steady = Hanging(), Scripted("steady", [0] * 1000)
    poller = AckPoller([hung, steady], every=0.001)
    await poller.start()
    try:
        while len(steady.polls) < 5:
            await asyncio.sleep(0.005)
    finally:
        await poller.stop()
    assert hung.polls == 1


async def test_listener_state_is_saved_after_every_poll_for_status(store):
    flaky = Scripted("flaky", [TransientError("down"), TransientError("still down"), 1, 0])
    steady = Scripted("steady", [0, 0, 0, 0])
    store.save_listener_state("test:removed", False, 1.0, "gone from the config")
    poller = AckPoller([flaky, steady], every=15.0, store=store)
    await poller.start()
    await poller.stop()  # forgets the listeners no longer configured; the polls below are driven by hand
    for now in (10.0, 20.0):
        await poller.poll(flaky, now)
        await poller.poll(steady, now)
    assert store.listener_states() == [
        {"listener": "test:flaky", "ok": False, "since": 10.0, "last_error": "still down", "failures": 2,
         "last_ok_at": None, "polled_at": 20.0},
        {"listener": "test:steady", "ok": True, "since": 10.0, "last_error": None, "failures": 0,
         "last_ok_at": 20.0, "polled_at": 20.0}]
    await poller.poll(flaky, 30.0)
    await poller.poll(flaky, 40.0)
    assert store.listener_states()[0] == {"listener": "test:flaky", "ok": True, "since": 30.0, "last_error": None,
                                          "failures": 0, "last_ok_at": 40.0, "polled_at": 40.0}


async def test_status_shows_when_each_listener_last_polled_and_worked(store, tmp_path):
    flaky = Scripted("flaky", [0, TransientError("HTTP 500"), TransientError("HTTP 500")])
    steady = Scripted("steady", [0, 0, 0])
    poller = AckPoller([flaky, steady], every=15.0, store=store)
    for now in (1_764_000_000.0, 1_764_000_015.0, 1_764_000_030.0):
        await poller.poll(flaky, now)
        await poller.poll(steady, now)
    settings = parse_settings(f"brands: [{{name: Acme}}]\nstore: {{path: '{tmp_path / 'state.db'}'}}\n")
    shown = render_status(collect_status(settings, 1_764_000_031.0)).splitlines()
    start = shown.index("acknowledgement listeners:")
    assert shown[start + 1:start + 4] == [
        "  test:flaky                         FAILING since 2025-11-24T16:00:15+00:00: HTTP 500",
        "      2 failed poll(s) in a row, last ok 2025-11-24T16:00:00+00:00, last polled 2025-11-24T16:00:30+00:00",
        "  test:steady                        ok since 2025-11-24T16:00:00+00:00, last polled 2025-11-24T16:00:30+00:00"]


async def test_metrics_show_each_listener_up_or_failing():
    broken, fine, idle = (Scripted("broken", [AuthFailedError("bad token")] * 2), Scripted("fine", [0]),
                          Scripted("idle", []))
    poller = AckPoller([broken, fine, idle], every=15.0)
    for listener in (broken, broken, fine):
        await poller.poll(listener, 5.0)
    body = (await Metrics(ack_listeners=lambda: poller.states).render())[0].decode()
    series = [line for line in body.splitlines() if line.startswith("brand_monitor_ack_listener")]
    assert series == [
        'brand_monitor_ack_listener_up{listener="test:broken"} 0.0',
        'brand_monitor_ack_listener_up{listener="test:fine"} 1.0',
        'brand_monitor_ack_listener_consecutive_failures{listener="test:broken"} 2.0',
        'brand_monitor_ack_listener_consecutive_failures{listener="test:fine"} 0.0',
        'brand_monitor_ack_listener_error{kind="AuthFailedError",listener="test:broken"} 1.0',
        'brand_monitor_ack_listener_last_success_timestamp_seconds{listener="test:fine"} 5.0']
