"""The Telegram Acknowledge button: the real notifier sends, a user presses, getUpdates brings the press."""
from __future__ import annotations

import json
import re

import pytest
from structlog.testing import capture_logs
from werkzeug import Request, Response

from monitor.acks import AckPoller
from monitor.acks.telegram import TelegramAckListener, alert_id_from
from monitor.errors import AuthFailedError, PermanentError, TransientError
from monitor.notifiers.telegram import TelegramConfig, TelegramNotifier
from tests.acks.fakes import TelegramBotApi, TgUser
from tests.acks.helpers import NOW, acked, deliver

TOKEN = "123456789:AAHsecretTOKENvalue_abcdefghijk"
ANN = TgUser(111, "Ann", "ann_support")
BOB = TgUser(222, "Bob")  # no username: the numeric id is used


@pytest.fixture
def api(httpserver) -> TelegramBotApi:
    fake = TelegramBotApi(TOKEN)
    httpserver.expect_request(re.compile(r"/bot[^/]+/\w+")).respond_with_handler(fake)
    return fake


def config(httpserver, token: str = TOKEN) -> TelegramConfig:
    return TelegramConfig.model_validate({"type": "telegram", "token": token, "chat_id": -1001234567890,
                                          "api_url": httpserver.url_for("/"), "timeout": "5s"})


@pytest.fixture
async def sent(httpserver, api, http, store) -> dict[str, int]:
    """alert id -> message id of two alerts sent by the real notifier."""
    notifier = TelegramNotifier("tg", config(httpserver), http)
    return {alert_id: int(message_id) for alert_id, message_id in
            (await deliver(store, notifier, "tg", count=2)).items()}


def listener(httpserver, http, store, token: str = TOKEN) -> TelegramAckListener:
    return TelegramAckListener("tg", config(httpserver, token), http, store)


async def test_pressing_acknowledge_acknowledges_and_answers(httpserver, api, http, store, sent):
    (first, first_msg), (second, second_msg) = sent.items()
    query = api.press(first_msg, ANN)
    first_update = api.updates[-1]["update_id"]
    api.post_in_chat("hello")  # not asked for: never delivered
    tg = listener(httpserver, http, store)

    assert await tg.poll_once(NOW + 60) == 1
    assert acked(store, first) == (NOW + 60, "telegram:ann_support")
    assert acked(store, second) == (None, None)
    assert api.answers[query] == {"callback_query_id": query, "text": "Acknowledged"}
    method, body = api.calls[-2]  # the getUpdates before the answer
    assert method == "getUpdates" and body["allowed_updates"] == ["callback_query"] and "offset" not in body

    query2 = api.press(second_msg, BOB)
    assert await tg.poll_once(NOW + 90) == 1
    assert acked(store, second) == (NOW + 90, "telegram:222")
    assert api.calls[-2][1]["offset"] == first_update + 1  # confirms the first press
    assert [u["callback_query"]["id"] for u in api.updates] == [query2]
    assert await tg.poll_once(NOW + 120) == 0 and api.updates == []


async def test_second_press_is_a_no_op_that_still_answers(httpserver, api, http, store, sent):
    first, first_msg = next(iter(sent.items()))
    api.press(first_msg, ANN)
    late = api.press(first_msg, BOB)
    assert await listener(httpserver, http, store).poll_once(NOW + 60) == 1
    assert acked(store, first) == (NOW + 60, "telegram:ann_support")
    assert api.answers[late]["text"] == "Already acknowledged (or unknown)"


async def test_a_press_too_old_to_answer_still_acknowledges(httpserver, api, http, store, sent):
    first, first_msg = next(iter(sent.items()))
    api.expired.add(api.press(first_msg, ANN))  # pressed while the daemon was down
    with capture_logs() as logs:
        assert await listener(httpserver, http, store).poll_once(NOW + 60) == 1
    assert acked(store, first)[1] == "telegram:ann_support"
    assert [e["event"] for e in logs] == ["alert_acknowledged", "telegram_ack_answer_failed", "alerts_acknowledged"]
    assert TOKEN not in str(logs)


async def test_server_error_leaves_the_press_for_the_next_poll(httpserver, api, http, store, sent):
    first, first_msg = next(iter(sent.items()))
    api.press(first_msg, ANN)
    api.fail(502, "<html>Bad Gateway</html>", "getUpdates")
    tg = listener(httpserver, http, store)
    with pytest.raises(TransientError) as caught:
        await tg.poll_once(NOW + 60)
    assert TOKEN not in str(caught.value) and caught.value.__cause__ is None
    assert acked(store, first) == (None, None) and len(api.updates) == 1
    assert await tg.poll_once(NOW + 90) == 1
    assert acked(store, first)[0] == NOW + 90


async def test_webhook_on_the_bot_is_a_permanent_error_that_says_so(httpserver, api, http, store):
    api.webhook = "https://example.com/hook"
    with pytest.raises(PermanentError) as caught:
        await listener(httpserver, http, store).poll_once(NOW)
    assert "deleteWebhook" in str(caught.value) and not isinstance(caught.value, AuthFailedError)


async def test_another_poller_on_the_bot_is_transient(httpserver, api, http, store):
    api.fail(409, {"ok": False, "error_code": 409,
                   "description": "Conflict: terminated by other getUpdates "
                                  "request; make sure that only one bot instance is running"})
    with pytest.raises(TransientError):
        await listener(httpserver, http, store).poll_once(NOW)


async def test_wrong_token_is_auth_failed_without_leaking_it(httpserver, api, http, store):
    with pytest.raises(AuthFailedError) as caught:
        await listener(httpserver, http, store, token="999:WRONGsecretTOKEN").poll_once(NOW)
    assert "WRONGsecretTOKEN" not in f"{caught.value} {caught.value!r}"


async def test_a_401_that_echoes_the_token_is_saved_for_status_without_it(httpserver, http, store):
    def echo(request: Request) -> Response:
        body = {"ok": False, "error_code": 401, "description": f"Unauthorized: {request.path}"}
        return Response(json.dumps(body), 401, content_type="application/json")
    httpserver.expect_request(re.compile(r"/bot[^/]+/\w+")).respond_with_handler(echo)
    reader = listener(httpserver, http, store)
    await AckPoller([reader], every=15, store=store).poll(reader, NOW)
    [state] = store.listener_states()
    assert state["ok"] is False and "[Unauthorized: /bot***/getUpdates]: HTTP 401" in state["last_error"]
    assert "AAHsecretTOKENvalue" not in state["last_error"]


@pytest.mark.parametrize("data, expected", [
    ("ack:0123456789abcdef0123", "0123456789abcdef0123"), ("ack:incident-abc-3", "incident-abc-3"),
    ("ack:", None), ("nack:abc", None), ("ack:a b", None), ("ack:<script>", None), (None, None), (42, None),
])
def test_alert_id_from_callback_data(data, expected):
    assert alert_id_from(data) == expected
