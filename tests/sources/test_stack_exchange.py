"""stack_exchange source against a real HTTP server on 127.0.0.1 serving hand-written, gzip'd API bodies."""
from __future__ import annotations

import copy
import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor import registry
from monitor.errors import AuthFailedError, PermanentError, RateLimitedError
from monitor.settings import BrandConfig, parse_settings
from monitor.sources.base import SourceState
from monitor.sources.stack_exchange import StackExchangeConfig, make_stack_exchange

DATA = Path(__file__).parent / "more_data"
PATH = "/2.3/search/advanced"
NOW = 1767268800.0  # 2026-01-01T12:00:00Z
BRANDS = (BrandConfig(name="Acme", keywords=["Acme", "AcmeCloud"]), BrandConfig(name="Other", keywords=["Zeta"]))


def body(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def gz(data: dict, status: int = 200, headers: dict | None = None) -> Response:
    return Response(gzip.compress(json.dumps(data).encode()), status=status,
                    headers={"Content-Type": "application/json; charset=utf-8", "Content-Encoding": "gzip",
                             **(headers or {})})


def empty() -> dict:
    return {"items": [], "has_more": False, "quota_max": 300, "quota_remaining": 280}


@pytest.fixture
async def client():
    async with httpx.AsyncClient() as c:
        yield c


def make(httpserver: HTTPServer, client: httpx.AsyncClient, **options):
    raw = {"type": "stack_exchange", "api_url": httpserver.url_for("/"), "brands": ["Acme"], **options}
    config = StackExchangeConfig.model_validate(raw)
    source = make_stack_exchange("se_test", config, registry.PluginContext(http=client, brands=BRANDS))
    source.clock = lambda: NOW
    return source


def serve(httpserver: HTTPServer, responder) -> list[dict]:
    """Route every search call through `responder(args) -> Response`; return the recorded query args."""
    calls: list[dict] = []

    def handler(request: Request) -> Response:
        args = request.args.to_dict()
        calls.append(args)
        return responder(args)
    httpserver.expect_request(PATH).respond_with_handler(handler)
    return calls


async def test_maps_fields_and_queries_each_site_and_term(httpserver, client):
    page = body("synthetic_stack_exchange_search_page1.json")
    calls = serve(httpserver, lambda a: gz(page if (a["q"], a["site"]) == ("Acme", "stackoverflow") else empty()))
    source = make(httpserver, client, sites=["stackoverflow", "superuser"], key="k3y")

    result = await source.fetch(SourceState("se_test"))

    assert {(c["q"], c["site"]) for c in calls} == {("Acme", "stackoverflow"), ("AcmeCloud", "stackoverflow"),
                                                    ("Acme", "superuser"), ("AcmeCloud", "superuser")}
    first = calls[0]
    assert (first["sort"], first["order"], first["filter"], first["key"]) == ("creation", "desc", "withbody", "k3y")
    assert first["fromdate"] == str(int(NOW - 86400))
    post = result.posts[0]
    assert post.id == "stackoverflow:79900002" and post.platform == "stack_exchange"
    assert post.url == "https://stackoverflow.com/questions/79900002/acme-sdk-login-fails-with-401"
    assert post.title == 'Acme SDK login fails with 401 "invalid grant"'
    assert post.text == ("Since this morning the Acme SDK refuses my token:\nAcmeError: 401 invalid_grant\n"
                         "Anyone else? <script> is not the cause.")
    assert post.published_at == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert (post.author.display_name, post.author.handle) == ("Jörg Example", "7700001")
    assert (post.engagement.likes, post.engagement.replies) == (2, 0)
    assert result.posts[1].engagement.likes == 0 and result.posts[1].raw["score"] == -1
    assert result.posts[1].engagement.replies == 3
    assert result.min_next_poll is None


async def test_second_poll_uses_cursor_and_yields_no_duplicates(httpserver, client):
    page = body("synthetic_stack_exchange_search_page1.json")
    newer = copy.deepcopy(page["items"][0])
    newer.update(question_id=79900003, creation_date=1767261600, link="https://stackoverflow.com/questions/79900003/x")
    pages = iter([page, {**page, "items": [newer, *page["items"][:1]]}])  # the API repeats the boundary second
    calls = serve(httpserver, lambda a: gz(next(pages) if a["q"] == "Acme" else empty()))
    source = make(httpserver, client)

    first = await source.fetch(SourceState("se_test"))
    second = await source.fetch(SourceState("se_test", cursor=first.cursor))

    assert [p.id for p in first.posts] == ["stackoverflow:79900002", "stackoverflow:79900001"]
    assert [p.id for p in second.posts] == ["stackoverflow:79900003"]
    acme_calls = [c for c in calls if c["q"] == "Acme"]
    assert acme_calls[1]["fromdate"] == "1767261600"
    assert json.loads(second.cursor)["stackoverflow:Acme"] == [1767261600, ["79900002", "79900003"], NOW]


async def test_backoff_stops_the_poll_and_sets_min_next_poll(httpserver, client):
    page = body("synthetic_stack_exchange_search_page1.json")
    calls = serve(httpserver, lambda a: gz({**page, "backoff": 10}))
    source = make(httpserver, client)

    result = await source.fetch(SourceState("se_test"))

    assert len(calls) == 1, "no further call to the method may be made during a backoff"
    assert result.min_next_poll == 10
    cursor = json.loads(result.cursor)
    assert list(cursor) == ["stackoverflow:Acme" if calls[0]["q"] == "Acme" else "stackoverflow:AcmeCloud"]
    # the pair that was not polled goes first next time
    result2 = await source.fetch(SourceState("se_test", cursor=result.cursor))
    assert len(calls) == 2 and calls[1]["q"] != calls[0]["q"]
    assert set(json.loads(result2.cursor)) == {"stackoverflow:Acme", "stackoverflow:AcmeCloud"}


async def test_quota_exhausted_without_results_raises_until_next_utc_day(httpserver, client):
    serve(httpserver, lambda a: gz({**empty(), "quota_remaining": 0}))
    with pytest.raises(RateLimitedError) as info:
        await make(httpserver, client).fetch(SourceState("se_test"))
    assert info.value.retry_after == 12 * 3600  # NOW is noon UTC


async def test_quota_exhausted_with_results_returns_them_and_waits(httpserver, client):
    page = body("synthetic_stack_exchange_search_page1.json")
    calls = serve(httpserver, lambda a: gz({**page, "quota_remaining": 0}))
    result = await make(httpserver, client).fetch(SourceState("se_test"))
    assert len(calls) == 1 and len(result.posts) == 2
    assert result.min_next_poll == 12 * 3600


async def test_throttle_violation_is_rate_limited_with_wait_from_message(httpserver, client):
    serve(httpserver, lambda a: gz(body("synthetic_stack_exchange_throttle_error.json"), status=400))
    with pytest.raises(RateLimitedError) as info:
        await make(httpserver, client).fetch(SourceState("se_test"))
    assert info.value.retry_after == 3600


async def test_http_503_with_retry_after_is_rate_limited(httpserver, client):
    serve(httpserver, lambda a: Response("busy", status=503, headers={"Retry-After": "120"}))
    with pytest.raises(RateLimitedError) as info:
        await make(httpserver, client).fetch(SourceState("se_test"))
    assert info.value.retry_after == 120


async def test_access_denied_names_the_key_and_hides_it(httpserver, client):
    serve(httpserver, lambda a: gz(body("synthetic_stack_exchange_access_denied.json"), status=403))
    with pytest.raises(AuthFailedError) as info:
        await make(httpserver, client, key="sekrit-key").fetch(SourceState("se_test"))
    assert "'key'" in str(info.value) and "sekrit-key" not in str(info.value)


async def test_bad_parameter_is_permanent(httpserver, client):
    serve(httpserver, lambda a: gz(body("synthetic_stack_exchange_bad_key.json"), status=400))
    with pytest.raises(PermanentError) as info:
        await make(httpserver, client).fetch(SourceState("se_test"))
    assert not isinstance(info.value, AuthFailedError) and "bad_parameter" in str(info.value)


@pytest.mark.parametrize("payload", [b"<html>oops</html>", b'{"items": "nope"}', b'{"items": [{"question_id": 1}]}'])
async def test_malformed_body_is_permanent(httpserver, client, payload):
    serve(httpserver, lambda a: Response(gzip.compress(payload), headers={"Content-Encoding": "gzip"}))
    with pytest.raises(PermanentError):
        await make(httpserver, client).fetch(SourceState("se_test"))


async def test_oversized_body_is_refused(httpserver, client):
    big = {**empty(), "items": [{"question_id": i, "creation_date": 1, "body": "x" * 500} for i in range(50)]}
    serve(httpserver, lambda a: gz(big))
    with pytest.raises(PermanentError, match="cap"):
        await make(httpserver, client, max_bytes=10_000).fetch(SourceState("se_test"))


async def test_has_more_pages_are_followed_up_to_max_pages(httpserver, client):
    page = body("synthetic_stack_exchange_search_page1.json")
    calls = serve(httpserver, lambda a: gz({**page, "has_more": True}))
    result = await make(httpserver, client, brands=["Other"], max_pages=3).fetch(SourceState("se_test"))
    assert [c["page"] for c in calls] == ["1", "2", "3"] and len(result.posts) == 2


def test_config_accepts_key_file(tmp_path):
    secret = tmp_path / "se_key"
    secret.write_text("from-file\n")
    config = StackExchangeConfig.model_validate({"type": "stack_exchange", "key_file": str(secret)})
    assert config.key is not None and config.key.get_secret_value() == "from-file"
    assert "from-file" not in repr(config)


def test_loads_through_the_settings_loader():
    settings = parse_settings("brands: [{name: Acme}]\nsources:\n"
                              "  se: {type: stack_exchange, sites: [stackoverflow, serverfault], lookback: 2h}\n")
    config = settings.sources["se"]
    assert isinstance(config, StackExchangeConfig) and config.lookback == 7200 and config.every == 900
