"""Matrix notifier against a real Synapse homeserver on 127.0.0.1 (see tests/servers/synapse.py)."""
from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from structlog.testing import capture_logs

from monitor import registry
from monitor.errors import AuthFailedError, PermanentError, RateLimitedError, TransientError
from monitor.http import make_client
from monitor.models import Alert
from monitor.notifiers.base import sample_alert
from monitor.notifiers.matrix import (
    CONTENT_BUDGET,
    MatrixConfig,
    MatrixNotifier,
    encoded_size,
    error_for,
    retry_after,
    txn_id,
)
from tests.servers import synapse as servers
from tests.servers.ports import free_port
from tests.servers.synapse import MatrixWorld

synapse_server = servers.synapse_server  # the session's real homeserver (shared fixtures live in tests/servers)
matrix_world = servers.matrix_world

HOSTILE = "@room <!channel> @everyone <script>alert(1)</script> <b>bold</b> & done"


def alert_with(text: str, title: str = "Acme login broken again") -> Alert:
    base = sample_alert()
    post = replace(base.mention.post, text=text, title=title)
    return replace(base, id=uuid.uuid4().hex[:20], mention=replace(base.mention, post=post))


def config(url: str, token: str, room_id: str, **extra: Any) -> MatrixConfig:
    return MatrixConfig(type="matrix", homeserver=url, access_token=token, room_id=room_id, **extra)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client() as client:
        yield client


@pytest.fixture
def bot(matrix_world: MatrixWorld, http: httpx.AsyncClient) -> MatrixNotifier:
    return MatrixNotifier("team_room", config(matrix_world.url, matrix_world.bot_token, matrix_world.room_id), http)


def event(world: MatrixWorld, event_id: str, room_id: str | None = None, token: str | None = None) -> dict:
    return world.server.call("GET", f"{world.room_path(room_id)}/event/{quote(event_id, safe='')}",
                             token or world.reader_token)


def bodies_containing(world: MatrixWorld, marker: str) -> list[dict]:
    page = world.server.call("GET", f"{world.room_path()}/messages?dir=b&limit=200", world.reader_token)
    return [e for e in page["chunk"] if e["type"] == "m.room.message" and marker in e["content"].get("body", "")]


def notification_for(world: MatrixWorld, event_id: str) -> dict | None:
    page = world.server.call("GET", "/_matrix/client/v3/notifications?limit=100", world.reader_token)
    return next((n for n in page["notifications"] if n["event"]["event_id"] == event_id), None)


def highlighted(notification: dict) -> bool:
    return any(isinstance(a, dict) and a.get("set_tweak") == "highlight" and a.get("value", True)
               for a in notification["actions"])


# --- against the real homeserver -------------------------------------------------------------------------------

async def test_alert_arrives_in_the_room(matrix_world: MatrixWorld, bot: MatrixNotifier) -> None:
    marker = uuid.uuid4().hex
    alert = alert_with(f"Acme is down for me {marker}")
    delivery = await bot.send(alert, f"{alert.id}:team_room")

    assert delivery.notifier_id == "team_room" and delivery.alert_id == alert.id
    assert delivery.status_code == 200 and delivery.remote_id.startswith("$")
    got = event(matrix_world, delivery.remote_id)
    assert got["sender"] == matrix_world.bot_user
    content = got["content"]
    assert content["msgtype"] == "m.notice" and content["format"] == "org.matrix.custom.html"
    assert marker in content["body"] and marker in content["formatted_body"]
    assert "Acme login broken again" in content["body"] and "Drafted reply:" in content["body"]
    assert content["m.mentions"] == {}


async def test_same_key_twice_is_one_event(matrix_world: MatrixWorld, bot: MatrixNotifier) -> None:
    marker = uuid.uuid4().hex
    alert = alert_with(f"double delivery check {marker}")
    first = await bot.send(alert, "same-key-" + marker)
    second = await bot.send(alert, "same-key-" + marker)
    other = await bot.send(alert, "other-key-" + marker)

    assert second.remote_id == first.remote_id
    assert other.remote_id != first.remote_id
    assert sorted(e["event_id"] for e in bodies_containing(matrix_world, marker)) == sorted(
        {first.remote_id, other.remote_id})


async def test_hostile_text_is_escaped_and_pings_nobody(matrix_world: MatrixWorld, http: httpx.AsyncClient) -> None:
    # m.text, not the default m.notice: notices never notify at all, so only m.text shows whether a ping would happen
    texter = MatrixNotifier("texter", config(matrix_world.url, matrix_world.bot_token, matrix_world.room_id,
                                             msgtype="m.text"), http)
    marker = uuid.uuid4().hex
    alert = alert_with(f"{HOSTILE} {matrix_world.reader_user} {marker}", title='<img src=x onerror="alert(2)">')
    delivery = await texter.send(alert, "hostile-" + marker)

    content = event(matrix_world, delivery.remote_id)["content"]
    html_body = content["formatted_body"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_body and "<script" not in html_body
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html_body and "<img" not in html_body
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; done" in html_body
    assert "@room" not in content["body"] and "@\u2060room" in content["body"]
    assert content["m.mentions"] == {}
    notification = notification_for(matrix_world, delivery.remote_id)
    assert notification is not None, "a 1:1 room notifies every m.text message; it must not highlight"
    assert not highlighted(notification)

    # Control: the same words sent without m.mentions do highlight for the reader, so the check above can fail.
    control = {"msgtype": "m.text", "body": f"@room {matrix_world.reader_user} control {marker}"}
    control_id = matrix_world.server.call(
        "PUT", f"{matrix_world.room_path()}/send/m.room.message/control-{marker}", matrix_world.bot_token,
        json=control)["event_id"]
    assert highlighted(notification_for(matrix_world, control_id))


async def test_default_notices_do_not_notify(matrix_world: MatrixWorld, bot: MatrixNotifier) -> None:
    marker = uuid.uuid4().hex
    delivery = await bot.send(alert_with(f"{HOSTILE} {matrix_world.reader_user} {marker}"), "notice-" + marker)
    assert event(matrix_world, delivery.remote_id)["content"]["msgtype"] == "m.notice"
    assert notification_for(matrix_world, delivery.remote_id) is None


async def test_real_rate_limit_maps_to_rate_limited_and_the_retry_lands_once(
        matrix_world: MatrixWorld, http: httpx.AsyncClient) -> None:
    limited = MatrixNotifier("limited", config(matrix_world.url, matrix_world.limited_token,
                                               matrix_world.limited_room_id), http)
    marker = uuid.uuid4().hex
    error = None
    for i in range(8):  # the server's rc_message allows a burst of 2, then 1 per second
        try:
            await limited.send(alert_with(f"burst {i} {marker}"), f"burst-{i}-{marker}")
        except RateLimitedError as exc:
            error, key = exc, f"burst-{i}-{marker}"
            break
    assert error is not None, "Synapse never answered 429"
    assert "M_LIMIT_EXCEEDED" in str(error)
    assert error.retry_after is not None and 0 < error.retry_after <= 5

    await asyncio.sleep(error.retry_after)
    first = await limited.send(alert_with(f"retried {marker}"), key)
    again = await limited.send(alert_with(f"retried {marker}"), key)
    assert again.remote_id == first.remote_id
    assert marker in event(matrix_world, first.remote_id, matrix_world.limited_room_id,
                           matrix_world.limited_token)["content"]["body"]


async def test_bad_token_is_auth_failed(matrix_world: MatrixWorld, http: httpx.AsyncClient) -> None:
    wrong = MatrixNotifier("wrong", config(matrix_world.url, "syt_not_a_real_token", matrix_world.room_id), http)
    with pytest.raises(AuthFailedError) as caught:
        await wrong.send(sample_alert(), "k-bad-token")
    assert "401" in str(caught.value) and "M_UNKNOWN_TOKEN" in str(caught.value)
    assert "syt_not_a_real_token" not in str(caught.value)


async def test_room_the_bot_is_not_in_is_auth_failed(matrix_world: MatrixWorld, http: httpx.AsyncClient) -> None:
    outsider = MatrixNotifier("outsider", config(matrix_world.url, matrix_world.outsider_token,
                                                 matrix_world.room_id), http)
    with pytest.raises(AuthFailedError) as caught:
        await outsider.send(sample_alert(), "k-outsider")
    assert "403" in str(caught.value) and "M_FORBIDDEN" in str(caught.value)


async def test_huge_post_is_cut_to_fit_not_rejected(matrix_world: MatrixWorld, bot: MatrixNotifier) -> None:
    marker = uuid.uuid4().hex
    bot.budgets = ((200_000, 1000), *bot.budgets)  # offer the post's whole text first: too big, so cut
    with capture_logs() as logs:
        delivery = await bot.send(alert_with(marker + " é<&>" * 50_000), "huge-" + marker)

    assert logs == []  # fitted before sending: no 413 round trip

    content = event(matrix_world, delivery.remote_id)["content"]
    assert marker in content["body"] and "…" in content["body"]
    assert encoded_size(content) <= CONTENT_BUDGET


async def test_server_413_is_answered_by_a_shorter_message(matrix_world: MatrixWorld, bot: MatrixNotifier) -> None:
    marker = uuid.uuid4().hex
    bot.budgets, bot.content_budget = ((200_000, 1000), *bot.budgets), 10**7  # no own fitting: Synapse says 413
    with capture_logs() as logs:
        delivery = await bot.send(alert_with(marker + " x" * 50_000), "too-large-" + marker)

    assert [e["event"] for e in logs] == ["matrix_message_too_large"]

    content = event(matrix_world, delivery.remote_id)["content"]
    assert marker in content["body"] and encoded_size(content) < 10_000


async def test_unreachable_homeserver_is_transient(http: httpx.AsyncClient) -> None:
    down = MatrixNotifier("down", config(f"http://127.0.0.1:{free_port()}", "t", "!room"), http)
    with pytest.raises(TransientError) as caught:
        await down.send(sample_alert(), "k-down")
    assert not isinstance(caught.value, RateLimitedError)


# --- pure parts ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("status, headers, body, kind, after", [
    (429, {"Retry-After": "3"}, {"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 2844}, RateLimitedError, 3.0),
    (429, {}, {"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 2844}, RateLimitedError, 2.844),
    (429, {}, {"errcode": "M_LIMIT_EXCEEDED"}, RateLimitedError, None),
    (401, {}, {"errcode": "M_UNKNOWN_TOKEN", "error": "Invalid access token passed."}, AuthFailedError, None),
    (403, {}, {"errcode": "M_FORBIDDEN", "error": "not in room"}, AuthFailedError, None),
    (413, {}, {"errcode": "M_TOO_LARGE", "error": "event too large"}, PermanentError, None),
    (400, {}, {"errcode": "M_BAD_JSON"}, PermanentError, None),
    (502, {}, {}, TransientError, None),
])
def test_error_mapping(status: int, headers: dict, body: dict, kind: type, after: float | None) -> None:
    response = httpx.Response(status, headers=headers, content=json.dumps(body).encode())
    error = error_for(response, body, "matrix notifier 'x'")
    assert type(error) is kind
    if kind is RateLimitedError:
        assert error.retry_after == after == retry_after(response, body)
    if kind is AuthFailedError:
        assert not isinstance(error, RateLimitedError)


def test_txn_id_is_stable_and_url_safe() -> None:
    assert txn_id("alert 1/route?x") == txn_id("alert 1/route?x") != txn_id("alert 2/route?x")
    assert quote(txn_id("a/b c"), safe="") == txn_id("a/b c")


def test_config_reads_the_token_from_a_file(tmp_path) -> None:
    (tmp_path / "token").write_text("syt_secret_from_file\n")
    plugin = registry.lookup(registry.NOTIFIERS, "matrix")
    cfg = plugin.config_model.model_validate({"type": "matrix", "homeserver": "https://matrix.example.org/",
                                              "access_token_file": str(tmp_path / "token"), "room_id": "!abc"})
    assert cfg.access_token.get_secret_value() == "syt_secret_from_file"
    assert cfg.homeserver == "https://matrix.example.org" and cfg.msgtype == "m.notice"
    assert "syt_secret_from_file" not in repr(cfg)


@pytest.mark.parametrize("field, value", [("room_id", "#alerts:example.org"), ("homeserver", "matrix.example.org"),
                                          ("msgtype", "m.emote")])
def test_config_rejects(field: str, value: str) -> None:
    raw = {"type": "matrix", "homeserver": "https://m.example.org", "access_token": "t", "room_id": "!abc"}
    with pytest.raises(ValueError):
        MatrixConfig.model_validate({**raw, field: value})
