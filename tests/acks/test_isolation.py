"""Issue 12, break 3: one failing acknowledgement listener must not stop the others.

The daemon runs in-process against two real loopback servers: a Slack Web API answering every call with 500
(Slack's own error body and headers) and a Telegram Bot API whose Acknowledge button was pressed.
"""
from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor import app
from monitor.notifiers.telegram import TelegramConfig, TelegramNotifier
from monitor.settings import load_settings
from monitor.status import collect_status, render_status
from tests.acks.fakes import TelegramBotApi, TgUser
from tests.acks.helpers import acked, deliver
from tests.servers.ports import free_port

TG_TOKEN = "123456789:AAHsecretTOKENvalue_abcdefghijk"
SLACK_TOKEN = "xoxb-1111-2222-secretSLACKtoken"
CONFIG = """\
store: {{path: {store}}}
brands: [{{name: Acme, keywords: [Acme]}}]
notifiers:
  team_slack: {{type: slack, token: "{slack_token}", channel: C0ALERTS1, api_url: "{slack}", timeout: 5s}}
  support_tg: {{type: telegram, token: "{tg_token}", chat_id: -1001234567890, api_url: "{tg}", timeout: 5s}}
routes:
  - {{name: all, notify: [support_tg]}}
metrics: {{enabled: true, listen: "127.0.0.1:{metrics_port}"}}
"""


class SlackOutage:
    """What slack.com/api answers while it is broken: 500 with its JSON error body and its usual headers."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, request: Request) -> Response:
        self.calls.append(request.path)
        return Response(json.dumps({"ok": False, "error": "fatal_error"}), 500,
                        {"x-slack-req-id": "4f1c3d0e9b8a7c6d5e4f3a2b1c0d9e8f", "x-slack-backend": "r",
                         "x-oauth-scopes": "chat:write,reactions:read", "x-accepted-oauth-scopes": "reactions:read"},
                        content_type="application/json; charset=utf-8")


@pytest.fixture
def slack_server():
    with HTTPServer() as server:
        outage = SlackOutage()
        server.expect_request(re.compile(r"/api/[\w.]+")).respond_with_handler(outage)
        yield server, outage


@pytest.fixture
def telegram(httpserver) -> TelegramBotApi:
    fake = TelegramBotApi(TG_TOKEN)
    httpserver.expect_request(re.compile(r"/bot[^/]+/\w+")).respond_with_handler(fake)
    return fake


async def test_telegram_acknowledges_while_slack_api_answers_500(tmp_path: Path, httpserver, telegram, slack_server,
                                                                  http, store, monkeypatch):
    slack_http, slack = slack_server
    config_path = tmp_path / "config.yaml"
    config_path.write_text(CONFIG.format(store=store.path, slack_token=SLACK_TOKEN, tg_token=TG_TOKEN,
                                         slack=slack_http.url_for("/api"), tg=httpserver.url_for("/"),
                                         metrics_port=free_port()))
    settings = load_settings(config_path)
    tg_config = settings.notifiers["support_tg"]
    assert isinstance(tg_config, TelegramConfig)
    (alert_id, message_id), = (await deliver(store, TelegramNotifier("support_tg", tg_config, http), "support_tg",
                                             now=time.time())).items()
    telegram.press(int(message_id), TgUser(111, "Ann", "ann_support"))

    monkeypatch.setattr(app, "ACK_TICK", 0.05)
    daemon = app.Daemon(config_path, settings)
    await daemon.start()
    try:
        await _until(lambda: acked(store, alert_id)[0] is not None and len(slack.calls) >= 3
                     and _count(telegram, "getUpdates") >= 3)
        metrics = (await http.get(f"http://{settings.metrics.listen}/metrics")).text
    finally:
        await daemon.stop()

    assert acked(store, alert_id)[1] == "telegram:ann_support"
    listeners = {x["listener"]: x for x in collect_status(settings, time.time())["ack_listeners"]}
    assert listeners["telegram:support_tg"]["ok"] is True
    failing = listeners["slack:team_slack"]
    assert failing["ok"] is False
    assert "HTTP 500" in failing["last_error"] and "fatal_error" in failing["last_error"]
    assert SLACK_TOKEN not in failing["last_error"]
    shown = render_status(collect_status(settings, time.time()))
    assert f"slack:team_slack                   FAILING since {failing['since']}: {failing['last_error']}" in shown
    assert 'brand_monitor_ack_listener_up{listener="slack:team_slack"} 0.0' in metrics
    assert 'brand_monitor_ack_listener_up{listener="telegram:support_tg"} 1.0' in metrics
    assert 'brand_monitor_ack_listener_error{kind="TransientError",listener="slack:team_slack"} 1.0' in metrics


def _count(api: TelegramBotApi, method: str) -> int:
    return sum(1 for name, _ in api.calls if name == method)


async def _until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)
