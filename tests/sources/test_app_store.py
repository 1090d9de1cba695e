"""app_store source against a real HTTP server on 127.0.0.1 serving hand-written customer-review JSON feeds."""
from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError
from pytest_httpserver import HTTPServer
from werkzeug import Response

from monitor import registry
from monitor.errors import ConfigError, PermanentError, RateLimitedError, TransientError
from monitor.http import make_client
from monitor.settings import parse_settings
from monitor.sources.app_store import AppStoreConfig, make_app_store, stars
from monitor.sources.base import SourceState

DATA = Path(__file__).parent / "more_data"
APP = "1234567890"
FIRST = f"/us/rss/customerreviews/id={APP}/sortBy=mostRecent/json"


def feed(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def page_path(n: int, country: str = "us") -> str:
    return (f"/{country}/rss/customerreviews/id={APP}/sortBy=mostRecent/json" if n == 1
            else f"/{country}/rss/customerreviews/page={n}/id={APP}/sortby=mostrecent/json")


def reviews(first_id: int, count: int) -> dict:
    """A feed page of `count` reviews with ids first_id, first_id-1, ... (newest first)."""
    template = feed("synthetic_app_store_reviews.json")["feed"]["entry"][1]
    entries = []
    for i in range(count):
        entry = copy.deepcopy(template)
        entry["id"]["label"] = str(first_id - i)
        entries.append(entry)
    return {"feed": {"entry": entries}}


@pytest.fixture
async def client():
    async with make_client() as c:
        yield c


def make(httpserver: HTTPServer, client, **options):
    raw = {"type": "app_store", "base_url": httpserver.url_for("/"), "apps": [f"id{APP}"], **options}
    return make_app_store("as_test", AppStoreConfig.model_validate(raw), registry.PluginContext(http=client, brands=()))


async def test_maps_reviews_and_skips_the_app_entry(httpserver, client):
    httpserver.expect_request(FIRST).respond_with_json(feed("synthetic_app_store_reviews.json"))
    result = await make(httpserver, client).fetch(SourceState("as_test"))

    assert [p.id for p in result.posts] == ["13000000502", "13000000501"]
    bad = result.posts[0]
    assert bad.platform == "app_store" and bad.raw["rating"] == 1 and bad.raw["version"] == "7.4.1"
    assert bad.title == "★☆☆☆☆ Crashes at login"
    assert bad.text.startswith("Since the update the app closes")
    assert bad.text.endswith("★☆☆☆☆ 1/5 review of Acme Mobile Banking on the App Store (US), version 7.4.1")
    assert bad.published_at == datetime(2026, 1, 1, 10, 40, tzinfo=UTC)
    assert bad.author.handle == "frustrated_fred" and bad.engagement.likes == 3
    assert bad.url == f"https://apps.apple.com/us/app/id{APP}?see-all=reviews&reviewId=13000000502"
    assert bad.dedup_key != result.posts[1].dedup_key
    assert result.posts[1].title == "★★★★★ Love it"
    assert json.loads(result.cursor) == {f"us/{APP}": 13000000502}


async def test_second_poll_reports_only_newer_reviews(httpserver, client):
    newer = feed("synthetic_app_store_reviews.json")
    extra = copy.deepcopy(newer["feed"]["entry"][1])
    extra["id"]["label"], extra["im:rating"]["label"] = "13000000600", "3"
    newer["feed"]["entry"].insert(1, extra)
    httpserver.expect_ordered_request(FIRST).respond_with_json(feed("synthetic_app_store_reviews.json"))
    httpserver.expect_ordered_request(FIRST).respond_with_json(newer)
    source = make(httpserver, client)

    first = await source.fetch(SourceState("as_test"))
    second = await source.fetch(SourceState("as_test", cursor=first.cursor))

    assert [p.id for p in second.posts] == ["13000000600"] and second.posts[0].title.startswith("★★★☆☆ ")
    assert json.loads(second.cursor) == {f"us/{APP}": 13000000600}
    assert len(httpserver.log) == 2, "the page reaching back to the cursor ends the poll"


async def test_pages_back_until_the_cursor_is_reached(httpserver, client):
    httpserver.expect_request(page_path(1)).respond_with_json(reviews(1200, 50))
    httpserver.expect_request(page_path(2)).respond_with_json(reviews(1150, 50))
    state = SourceState("as_test", cursor=json.dumps({f"us/{APP}": 1120}))
    result = await make(httpserver, client, max_pages=5).fetch(state)
    assert len(result.posts) == 80 and min(int(p.id) for p in result.posts) == 1121
    assert [entry[0].path for entry in httpserver.log] == [page_path(1), page_path(2)]


async def test_first_poll_reads_only_the_newest_page(httpserver, client):
    httpserver.expect_request(page_path(1)).respond_with_json(reviews(1200, 50))
    result = await make(httpserver, client, max_pages=5).fetch(SourceState("as_test"))
    assert len(result.posts) == 50 and len(httpserver.log) == 1


async def test_single_review_object_and_each_storefront_separately(httpserver, client):
    httpserver.expect_request(page_path(1, "us")).respond_with_json(feed("synthetic_app_store_no_reviews.json"))
    httpserver.expect_request(page_path(1, "de")).respond_with_json(feed("synthetic_app_store_single_review.json"))
    source = make(httpserver, client, countries=["US", "de"], names={APP: "Acme Bank"})
    result = await source.fetch(SourceState("as_test"))
    (post,) = result.posts
    assert post.title == "★★☆☆☆ Überweisung hängt" and post.raw["country"] == "de"
    assert "review of Acme Bank on the App Store (DE)" in post.text
    assert post.url.startswith("https://apps.apple.com/de/")
    assert json.loads(result.cursor) == {f"de/{APP}": 13000000777}


async def test_apple_502_is_transient_and_429_rate_limited(httpserver, client):
    httpserver.expect_ordered_request(FIRST).respond_with_data("Bad Gateway", status=502)
    httpserver.expect_ordered_request(FIRST).respond_with_response(Response("slow down", 429, {"Retry-After": "300"}))
    source = make(httpserver, client)
    with pytest.raises(TransientError) as first:
        await source.fetch(SourceState("as_test"))
    assert not isinstance(first.value, RateLimitedError)
    with pytest.raises(RateLimitedError) as second:
        await source.fetch(SourceState("as_test"))
    assert second.value.retry_after == 300


@pytest.mark.parametrize("payload", [
    "<html>maintenance</html>", '{"feed": []}', '{"feed": {"entry": "x"}}',
    '{"feed": {"entry": [{"im:rating": {"label": "9"}, "id": {"label": "1"}}]}}',
    '{"feed": {"entry": [{"im:rating": {"label": "4"}, "id": {"label": "abc"}}]}}',
])
async def test_malformed_feed_is_permanent(httpserver, client, payload):
    httpserver.expect_request(FIRST).respond_with_data(payload, content_type="application/json")
    with pytest.raises(PermanentError):
        await make(httpserver, client).fetch(SourceState("as_test"))


async def test_oversized_feed_is_refused(httpserver, client):
    httpserver.expect_request(FIRST).respond_with_json(reviews(5000, 50))
    with pytest.raises(PermanentError, match="cap"):
        await make(httpserver, client, max_bytes=5_000).fetch(SourceState("as_test"))


@pytest.mark.parametrize("rating, expected", [(1, "★☆☆☆☆"), (3, "★★★☆☆"), (5, "★★★★★")])
def test_stars(rating, expected):
    assert stars(rating) == expected


@pytest.mark.parametrize("options", [{"apps": ["acme"]}, {"apps": []}, {"apps": [APP], "countries": ["usa"]}])
def test_config_rejects_bad_ids_and_storefronts(options):
    with pytest.raises(ValidationError):
        AppStoreConfig.model_validate({"type": "app_store", **options})


async def test_a_failing_storefront_does_not_hold_back_the_others(httpserver, client):
    httpserver.expect_request(page_path(1, "us")).respond_with_json(feed("synthetic_app_store_reviews.json"))
    httpserver.expect_request(page_path(1, "xx")).respond_with_data("Not Found", status=404)
    source = make(httpserver, client, countries=["us", "xx"])
    result = await source.fetch(SourceState("as_test", cursor=json.dumps({f"xx/{APP}": 42})))
    assert len(result.posts) == 2
    assert json.loads(result.cursor) == {f"us/{APP}": 13000000502, f"xx/{APP}": 42}


async def test_every_storefront_failing_fails_the_source(httpserver, client):
    httpserver.expect_request(FIRST).respond_with_data("Not Found", status=404)
    with pytest.raises(PermanentError):
        await make(httpserver, client).fetch(SourceState("as_test"))


def test_loads_through_the_settings_loader_with_numeric_ids():
    settings = parse_settings("brands: [{name: Acme}]\nsources:\n"
                              "  reviews: {type: app_store, apps: [1234567890, id987654321], countries: [us, GB]}\n")
    config = settings.sources["reviews"]
    assert isinstance(config, AppStoreConfig)
    assert (config.apps, config.countries, config.every) == (["1234567890", "987654321"], ["us", "gb"], 1800.0)
    with pytest.raises(ConfigError, match="country"):
        parse_settings("brands: [{name: Acme}]\nsources:\n  r: {type: app_store, apps: [1234567890], country: us}\n")
