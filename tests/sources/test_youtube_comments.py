"""youtube_comments source against a fake YouTube Data API v3 (commentThreads.list, search.list) over loopback.

The bodies in data/youtube_*.json follow the published API reference: resources, and Google's error object
with a reason per error."""
from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from werkzeug import Request, Response

from monitor import registry
from monitor.errors import AuthFailedError, ConfigError, RateLimitedError
from monitor.registry import PluginContext
from monitor.settings import BrandConfig, parse_settings
from monitor.sources.base import SourceState
from monitor.sources.youtube_comments import YouTubeCommentsConfig

DATA = Path(__file__).parent / "data"
NOW = 1795166000.0  # 2026-11-20 09:13:20 UTC, 01:13:20 Pacific
TO_PACIFIC_MIDNIGHT = 22 * 3600 + 46 * 60 + 40
KEY = "AIzaSyA-test-key-Yt42"
CHANNEL = "UCacmeBrand0000000000000"
BRANDS = (BrandConfig(name="Acme X2"),)


def load(name: str) -> dict:
    return json.loads((DATA / name).read_text())


class FakeYouTube:
    """commentThreads newest first, paged `page_size` at a time with nextPageToken; search.list; errors by name."""

    def __init__(self):
        self.threads = {"channel": load("youtube_commentThreads_channel.json")["items"],
                        "Rv9otherV02": load("youtube_commentThreads_video.json")["items"]}
        self.page_size = 100
        self.errors: dict[str, str] = {"Rv9closedV1": "commentsDisabled"}
        self.calls: list[tuple[str, dict]] = []

    def __call__(self, request: Request) -> Response:
        method, args = request.path.rsplit("/", 1)[-1], request.args.to_dict()
        self.calls.append((method, args))
        if args.get("key") != KEY:
            return self._reply(load("youtube_error_keyInvalid.json"), 400)
        target = "search" if method == "search" else args.get("videoId") or "channel"
        if target in self.errors:
            return self._reply(load(f"youtube_error_{self.errors[target]}.json"), 403)
        if method == "search":
            return self._reply(load("youtube_search_list.json"))
        items = sorted(self.threads.get(target, []), key=_published, reverse=True)
        start = int(args.get("pageToken") or 0)
        body = {"kind": "youtube#commentThreadListResponse", "items": items[start:start + self.page_size]}
        if start + self.page_size < len(items):
            body["nextPageToken"] = str(start + self.page_size)
        return self._reply(body)

    def add_comment(self, comment_id: str, published: str) -> None:
        thread = copy.deepcopy(self.threads["channel"][0])
        thread["id"] = thread["snippet"]["topLevelComment"]["id"] = comment_id
        thread["snippet"]["topLevelComment"]["snippet"]["publishedAt"] = published
        self.threads["channel"].append(thread)

    @staticmethod
    def _reply(body: dict, status: int = 200) -> Response:
        return Response(json.dumps(body), status=status, content_type="application/json; charset=UTF-8")


def _published(thread: dict) -> str:
    return thread["snippet"]["topLevelComment"]["snippet"]["publishedAt"]


@pytest.fixture
def youtube(httpserver) -> FakeYouTube:
    fake = FakeYouTube()
    httpserver.expect_request(re.compile("^/youtube/v3/")).respond_with_handler(fake)
    return fake


def make_source(httpserver, client, **options):
    config = YouTubeCommentsConfig.model_validate({
        "type": "youtube_comments", "api_key": KEY, "api_url": httpserver.url_for("/youtube/v3"),
        "channel_id": CHANNEL, **options})
    source = registry.lookup(registry.SOURCES, "youtube_comments").factory("yt", config, PluginContext(client, BRANDS))
    source.clock = lambda: NOW
    return source


async def test_maps_channel_comments_and_resumes_from_the_cursor(httpserver, client, youtube):
    youtube.page_size = 2
    source = make_source(httpserver, client)
    first = await source.fetch(SourceState("yt"))

    assert [p.id for p in first.posts] == ["UgzN3kQpR7v1xAcmeA4AaABAg", "UgwB8yTt2LmAcmeB54AaABAg"]  # not the old one
    post = first.posts[0]
    assert (post.platform, post.url) == ("youtube",
                                         "https://www.youtube.com/watch?v=dQ7acmeV001&lc=UgzN3kQpR7v1xAcmeA4AaABAg")
    assert post.text == "Acme router keeps dropping wifi since the update"
    assert (post.author.handle, post.author.display_name) == ("http://www.youtube.com/@jmoreno", "@jmoreno")
    assert (post.engagement.likes, post.engagement.replies) == (12, 2)
    assert post.published_at == datetime(2026, 11, 20, 9, 5, tzinfo=UTC)
    assert [m for m, _ in youtube.calls] == ["commentThreads", "commentThreads"]
    assert youtube.calls[0][1] == {"key": KEY, "allThreadsRelatedToChannelId": CHANNEL, "part": "snippet",
                                   "order": "time", "textFormat": "plainText", "maxResults": "100"}
    assert youtube.calls[1][1]["pageToken"] == "2"

    youtube.add_comment("UgNewerAcme", "2026-11-20T09:05:00Z")  # the same second as the newest seen
    youtube.add_comment("UgNewestAcme", "2026-11-20T09:10:00Z")
    second = await source.fetch(SourceState("yt", cursor=first.cursor))
    assert [p.id for p in second.posts] == ["UgNewestAcme", "UgNewerAcme"]
    assert len(youtube.calls) == 4  # stopped at the first comment already seen

    third = await source.fetch(SourceState("yt", cursor=second.cursor))
    assert third.posts == []
    assert json.loads(third.cursor)["quota"] == {"day": "2026-11-20", "used": 5}


async def test_search_reads_found_videos_and_skips_one_with_comments_off(httpserver, client, youtube):
    result = await make_source(httpserver, client, search=True).fetch(SourceState("yt"))

    assert {p.id for p in result.posts} == {"UgzN3kQpR7v1xAcmeA4AaABAg", "UgwB8yTt2LmAcmeB54AaABAg",
                                            "UgyRevAcmeD14AaABAg"}
    search = youtube.calls[1][1]
    assert (search["q"], search["type"], search["order"], search["publishedAfter"]) == (
        '"Acme X2"', "video", "date", "2026-11-13T09:13:20Z")
    assert [a.get("videoId") for m, a in youtube.calls[2:]] == ["Rv9otherV02", "Rv9closedV1"]
    assert json.loads(result.cursor)["quota"]["used"] == 103


async def test_quota_exceeded_waits_until_pacific_midnight(httpserver, client, youtube):
    youtube.errors["channel"] = "quotaExceeded"
    with pytest.raises(RateLimitedError, match="exceeded your .*quota.*midnight Pacific") as caught:
        await make_source(httpserver, client).fetch(SourceState("yt"))
    assert caught.value.retry_after == TO_PACIFIC_MIDNIGHT


async def test_local_daily_quota_stops_the_poll_and_then_refuses(httpserver, client, youtube):
    source = make_source(httpserver, client, search=True, daily_quota=101)
    first = await source.fetch(SourceState("yt"))
    assert len(first.posts) == 2 and [m for m, _ in youtube.calls] == ["commentThreads", "search"]

    with pytest.raises(RateLimitedError, match="daily_quota of 101 units used up") as caught:
        await source.fetch(SourceState("yt", cursor=first.cursor))
    assert caught.value.retry_after == TO_PACIFIC_MIDNIGHT and len(youtube.calls) == 2

    source.clock = lambda: NOW + TO_PACIFIC_MIDNIGHT  # a new Pacific day
    next_day = await source.fetch(SourceState("yt", cursor=first.cursor))
    assert json.loads(next_day.cursor)["quota"] == {"day": "2026-11-21", "used": 101}


async def test_an_invalid_key_parks_the_source_without_showing_it(httpserver, client, youtube):
    source = make_source(httpserver, client, api_key="AIzaSy-revoked-key")
    with pytest.raises(AuthFailedError, match="HTTP 400: API key not valid.*check api_key") as caught:
        await source.fetch(SourceState("yt"))
    assert "revoked" not in str(caught.value)


def test_check_names_file_line_and_field():
    with pytest.raises(ConfigError) as caught:
        parse_settings("brands: [{name: Acme}]\nsources:\n  yt:\n    type: youtube_comments\n"
                       "    channel_id: UCx\n    max_videos: lots\n", "config.yaml")
    assert caught.value.problems == [
        "config.yaml:3: sources.yt.api_key: required field is missing",
        "config.yaml:6: sources.yt.max_videos: Input should be a valid integer, unable to parse string as an integer"]
    with pytest.raises(ConfigError, match=r"config.yaml:3: sources.yt: no channel_id and search is off"):
        parse_settings("brands: [{name: Acme}]\nsources:\n  yt:\n    type: youtube_comments\n    api_key: k\n",
                       "config.yaml")
