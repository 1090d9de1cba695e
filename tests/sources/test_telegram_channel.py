"""telegram_channel source against a real HTTP server on 127.0.0.1 serving hand-written t.me/s/ preview pages."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError
from pytest_httpserver import HTTPServer
from structlog.testing import capture_logs
from werkzeug import Request, Response

from monitor import registry
from monitor.errors import PermanentError, RateLimitedError
from monitor.http import make_client
from monitor.settings import parse_settings
from monitor.sources.base import SourceState
from monitor.sources.telegram_channel import TelegramChannelConfig, make_telegram_channel, parse_count

DATA = Path(__file__).parent / "more_data"
LATEST = (DATA / "synthetic_telegram_preview_latest.html").read_text(encoding="utf-8")
AFTER_103 = (DATA / "synthetic_telegram_preview_after_103.html").read_text(encoding="utf-8")
EMPTY = '<html><body><section class="tgme_channel_history js-message_history"></section></body></html>'


def html(text: str, status: int = 200, headers: dict | None = None) -> Response:
    return Response(text, status=status, headers={"Content-Type": "text/html; charset=utf-8", **(headers or {})})


def message(channel: str, n: int) -> str:
    return (f'<div class="tgme_widget_message js-widget_message" data-post="{channel}/{n}">'
            '<div class="tgme_widget_message_bubble">'
            f'<div class="tgme_widget_message_text js-message_text">post {n} about Acme</div>'
            f'<a class="tgme_widget_message_date" href="https://t.me/{channel}/{n}">'
            f'<time datetime="2026-01-01T10:{n % 60:02d}:00+00:00"></time></a>'
            '</div></div>')


def page(channel: str, ids) -> str:
    messages = "".join(message(channel, i) for i in ids)
    return f'<html><body><section class="tgme_channel_history">{messages}</section></body></html>'


@pytest.fixture
async def client():
    async with make_client() as c:  # the production client: follows redirects like t.me needs
        yield c


def make(httpserver: HTTPServer, client, channels=("acmewatch",), **options):
    raw = {"type": "telegram_channel", "base_url": httpserver.url_for("/"), "channels": list(channels), **options}
    config = TelegramChannelConfig.model_validate(raw)
    return make_telegram_channel("tg_test", config, registry.PluginContext(http=client, brands=()))


def serve(httpserver: HTTPServer, path: str, responder) -> list[dict]:
    calls: list[dict] = []

    def handler(request: Request) -> Response:
        calls.append(request.args.to_dict())
        return responder(request.args.get("after"))
    httpserver.expect_request(path).respond_with_handler(handler)
    return calls


async def test_first_poll_maps_the_newest_page(httpserver, client):
    calls = serve(httpserver, "/s/acmewatch", lambda after: html(LATEST))
    result = await make(httpserver, client).fetch(SourceState("tg_test"))

    assert calls == [{}]
    assert [p.id for p in result.posts] == ["acmewatch/101", "acmewatch/102"]  # 103 is a photo without caption
    first, reply = result.posts
    assert first.url == "https://t.me/acmewatch/101" and first.platform == "telegram"
    assert first.text == "Acme login is down again in Tehran & Mashhad.\nSecond line with a link."
    assert first.published_at == datetime(2026, 1, 1, 9, 45, tzinfo=UTC)  # +03:30 converted to UTC
    assert first.raw["views"] == 8300 and first.engagement.likes == 1157
    author = first.author
    assert (author.handle, author.display_name, author.followers) == ("acmewatch", "Acme Status Watch", 12400)
    assert reply.text == "Update: شاتل says it is fixed.", "the quoted message must not leak into the reply's text"
    assert reply.author.display_name == "Sara" and reply.raw["views"] == 954
    assert json.loads(result.cursor) == {"acmewatch": 103}


async def test_second_poll_asks_after_cursor_and_skips_the_boundary(httpserver, client):
    calls = serve(httpserver, "/s/acmewatch", lambda after: html({None: LATEST, "103": AFTER_103}.get(after, EMPTY)))
    source = make(httpserver, client)

    first = await source.fetch(SourceState("tg_test"))
    second = await source.fetch(SourceState("tg_test", cursor=first.cursor))
    third = await source.fetch(SourceState("tg_test", cursor=second.cursor))

    assert [c.get("after") for c in calls] == [None, "103", "104"]
    assert [p.id for p in second.posts] == ["acmewatch/104"]
    assert second.posts[0].raw["views"] == 2500 and second.posts[0].raw["forwarded"] is True
    assert third.posts == [] and json.loads(third.cursor) == {"acmewatch": 104}


async def test_full_pages_are_followed_until_a_short_one(httpserver, client):
    pages = {"100": page("acmewatch", range(101, 121)), "120": page("acmewatch", range(121, 126))}
    calls = serve(httpserver, "/s/acmewatch", lambda after: html(pages.get(after, EMPTY)))
    result = await make(httpserver, client).fetch(SourceState("tg_test", cursor='{"acmewatch": 100}'))
    assert [c["after"] for c in calls] == ["100", "120"]
    assert len(result.posts) == 25 and json.loads(result.cursor) == {"acmewatch": 125}


async def test_max_pages_bounds_one_poll(httpserver, client):
    calls = serve(httpserver, "/s/acmewatch",
                  lambda after: html(page("acmewatch", range(int(after) + 1, int(after) + 21))))
    result = await make(httpserver, client, max_pages=2).fetch(SourceState("tg_test", cursor='{"acmewatch": 0}'))
    assert len(calls) == 2 and json.loads(result.cursor) == {"acmewatch": 40}


async def test_each_channel_keeps_its_own_cursor(httpserver, client):
    serve(httpserver, "/s/acmewatch", lambda after: html(EMPTY if after else page("acmewatch", [5, 6])))
    calls_b = serve(httpserver, "/s/Other_News", lambda after: html(EMPTY if after else page("Other_News", [900])))
    source = make(httpserver, client, channels=["@acmewatch", "https://t.me/s/Other_News"])

    first = await source.fetch(SourceState("tg_test"))
    second = await source.fetch(SourceState("tg_test", cursor=first.cursor))

    assert [p.id for p in first.posts] == ["acmewatch/5", "acmewatch/6", "Other_News/900"]
    assert json.loads(first.cursor) == {"acmewatch": 6, "other_news": 900}
    assert calls_b[1] == {"after": "900"} and second.posts == []


async def test_redirect_to_a_non_preview_page_is_permanent(httpserver, client):
    httpserver.expect_request("/s/someprivate").respond_with_response(
        Response(status=302, headers={"Location": httpserver.url_for("/someprivate")}))
    httpserver.expect_request("/someprivate").respond_with_data(
        (DATA / "synthetic_telegram_not_a_preview.html").read_text(encoding="utf-8"), content_type="text/html")
    with pytest.raises(PermanentError, match="someprivate"):
        await make(httpserver, client, channels=["someprivate"]).fetch(SourceState("tg_test"))


async def test_too_many_requests_is_rate_limited(httpserver, client):
    serve(httpserver, "/s/acmewatch", lambda after: html("Too Many Requests", 429, {"Retry-After": "30"}))
    with pytest.raises(RateLimitedError) as info:
        await make(httpserver, client).fetch(SourceState("tg_test"))
    assert info.value.retry_after == 30


@pytest.mark.parametrize("body", ["", "{\"ok\": true}", page("acmewatch", [1]).replace('datetime="', 'data-x="')])
async def test_malformed_page_is_permanent(httpserver, client, body):
    serve(httpserver, "/s/acmewatch", lambda after: html(body))
    with pytest.raises(PermanentError):
        await make(httpserver, client).fetch(SourceState("tg_test"))


async def test_oversized_page_is_refused(httpserver, client):
    serve(httpserver, "/s/acmewatch", lambda after: html(page("acmewatch", range(1, 400))))
    with pytest.raises(PermanentError, match="cap"):
        await make(httpserver, client, max_bytes=20_000).fetch(SourceState("tg_test"))


@pytest.mark.parametrize("text, expected", [("987", 987), ("1.2K", 1200), ("2,5K", 2500), ("3M", 3_000_000),
                                            ("12,345", 12345), ("1.1B", 1_100_000_000), ("n/a", None), ("", None)])
def test_parse_count(text, expected):
    assert parse_count(text) == expected


@pytest.mark.parametrize("name", ["a", "bad name", "https://t.me/+inviteHash", "x" * 70])
def test_config_rejects_non_channel_names(name):
    with pytest.raises(ValidationError):
        TelegramChannelConfig.model_validate({"type": "telegram_channel", "channels": [name]})


async def test_a_failing_channel_does_not_hold_back_the_others(httpserver, client):
    serve(httpserver, "/s/acmewatch", lambda after: html(EMPTY if after else page("acmewatch", [7])))
    gone = (DATA / "synthetic_telegram_not_a_preview.html").read_text(encoding="utf-8")
    serve(httpserver, "/s/gonechannel", lambda after: html(gone))
    source = make(httpserver, client, channels=["acmewatch", "gonechannel"])
    old_cursor = json.dumps({"gonechannel": 55})

    with capture_logs() as logs:
        first = await source.fetch(SourceState("tg_test", cursor=old_cursor))
        second = await source.fetch(SourceState("tg_test", cursor=first.cursor))

    assert [p.id for p in first.posts] == ["acmewatch/7"]
    assert json.loads(second.cursor) == {"acmewatch": 7, "gonechannel": 55}, "the failed channel keeps its place"
    failed = [e for e in logs if e["event"] == "source_target_failed"]
    assert len(failed) == 1 and failed[0]["channel"] == "gonechannel", "logged when it starts, not every poll"


async def test_rate_limit_on_one_channel_stops_the_poll(httpserver, client):
    serve(httpserver, "/s/acmewatch", lambda after: html("slow down", 429, {"Retry-After": "5"}))
    calls = serve(httpserver, "/s/otherchannel", lambda after: html(EMPTY))
    with pytest.raises(RateLimitedError):
        await make(httpserver, client, channels=["acmewatch", "otherchannel"]).fetch(SourceState("tg_test"))
    assert calls == []


def test_loads_through_the_settings_loader():
    settings = parse_settings("brands: [{name: Acme}]\nsources:\n"
                              "  tg: {type: telegram_channel, channels: ['@acmewatch', 'https://t.me/other_news']}\n")
    assert settings.sources["tg"].channels == ["acmewatch", "other_news"]
